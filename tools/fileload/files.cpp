#include "files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <ctime>

#include "pipekit/errors.hpp"
#include "pipekit/log.hpp"

namespace fs = std::filesystem;

namespace pipekit::fileload {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "host";
  std::string h;
  for (char c : std::string(buf))  // a file-name-safe form
    h.push_back((std::isalnum(static_cast<unsigned char>(c)) || c == '.') ? c : '_');
  return h.empty() ? "host" : h;
}

std::string random_hex64() {
  uint64_t r = 0;
  if (::getrandom(&r, sizeof r, 0) != sizeof r) {
    // Without getrandom: time and address bits, still distinct across runs in practice.
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    r = static_cast<uint64_t>(ts.tv_nsec) ^ (static_cast<uint64_t>(ts.tv_sec) << 32) ^
        reinterpret_cast<uintptr_t>(&r) ^ static_cast<uint64_t>(::getpid());
  }
  return fmt::format("{:016x}", r);
}

}  // namespace

FileNamer::FileNamer(std::string extension)
    : extension_(std::move(extension)), host_(host_name()), run_id_(random_hex64()) {}

std::string FileNamer::next() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return fmt::format("part-{}-{}-{}-{}-{:06}{}", stamp, host_, ::getpid(), run_id_, ++seq_, extension_);
}

std::string temp_name(std::string_view final_name) { return fmt::format(".{}.tmp", final_name); }

bool is_temp_name(std::string_view name) {
  return name.size() > 10 && name.substr(0, 6) == ".part-" && name.substr(name.size() - 4) == ".tmp";
}

std::string hive_segment(std::string_view field, const std::string* value) {
  auto escape = [](std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
      // What Hive's FileUtils escapes: control characters and "#%'*/:=?\\\x7F{[]^
      if (c < 0x20 || c == 0x7F || std::string_view("\"#%'*/:=?\\{[]^").find(static_cast<char>(c)) !=
                                       std::string_view::npos)
        out += fmt::format("%{:02X}", c);
      else
        out.push_back(static_cast<char>(c));
    }
    return out;
  };
  std::string v = value && !value->empty() ? escape(*value) : "__HIVE_DEFAULT_PARTITION__";
  return escape(field) + "=" + v;
}

void sync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw IoError(errno_message("open " + dir.string(), errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw IoError(errno_message("fsync " + dir.string(), err));
}

void make_dirs_durable(const fs::path& dir) {
  if (dir.empty() || fs::is_directory(dir)) return;
  make_dirs_durable(dir.parent_path());
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) throw IoError(errno_message("mkdir " + dir.string(), errno));
  sync_dir(dir.parent_path().empty() ? fs::path(".") : dir.parent_path());
}

int create_locked_temp(const fs::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    if (errno == EEXIST) return -1;
    throw IoError(errno_message("create " + path.string(), errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // a cleaner caught it first: it will remove it
    ::close(fd);
    return -1;
  }
  return fd;
}

void commit_file(int fd, const fs::path& temp, const fs::path& final_path) {
  if (::fsync(fd) != 0) throw IoError(errno_message("fsync " + temp.string(), errno));
  // Never replace a file: names are unique, so an existing one means a bug or a
  // foreign file, and either way its data must stay.
  if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno != EINVAL && errno != ENOSYS) throw IoError(errno_message("rename to " + final_path.string(), errno));
    // A file system without RENAME_NOREPLACE: link (fails if the name exists) then unlink.
    if (::link(temp.c_str(), final_path.c_str()) != 0)
      throw IoError(errno_message("link to " + final_path.string(), errno));
    if (::unlink(temp.c_str()) != 0) throw IoError(errno_message("unlink " + temp.string(), errno));
  }
  sync_dir(final_path.parent_path());
}

uint64_t remove_stale_temps(const fs::path& root) {
  uint64_t removed = 0;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return 0;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const auto& path = it->path();
    if (!it->is_regular_file(ec) || !is_temp_name(path.filename().string())) continue;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    // A live writer holds its lock: only files nobody holds are leftovers.
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      struct stat held{}, now{};
      if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
          held.st_dev == now.st_dev && ::unlink(path.c_str()) == 0) {
        ++removed;
        log::info("removed {}, left by an interrupted run", path.string());
      }
    }
    ::close(fd);
  }
  return removed;
}

}  // namespace pipekit::fileload
