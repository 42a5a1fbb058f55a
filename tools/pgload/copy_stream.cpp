#include "copy_stream.hpp"

namespace pipekit::pgload {

void CopyStream::begin() {
  if (open()) return;
  sent_ = 0;
  session_.begin();
  bool direct = policy_.try_direct();
  if (direct) session_.conn().exec("SAVEPOINT pgload_direct");
  session_.conn().copy_begin(direct ? plan_.direct_copy_sql() : plan_.copy_sql());
  state_ = direct ? State::direct : State::staged;
}

void CopyStream::put_rest(const std::string& enc) {
  if (enc.size() > sent_) session_.conn().copy_put(enc.data() + sent_, enc.size() - sent_);
  sent_ = enc.size();
}

void CopyStream::end() {
  reset();
  session_.conn().copy_end();
}

void CopyStream::send_end() {
  reset();
  session_.conn().send_copy_end();
}

void CopyStream::restage(const std::string& enc) {
  Conn& c = session_.conn();
  c.exec("ROLLBACK TO SAVEPOINT pgload_direct");
  policy_.conflict();
  c.copy_begin(plan_.copy_sql());
  c.copy_put(enc.data(), enc.size());
  c.copy_end();
}

}  // namespace pipekit::pgload
