#pragma once
// The files under --dir: collision-free names, Hive-style partition folders,
// temporary files held under an exclusive lock, and the durable commit
// (fsync the file, rename it into place, fsync its folder).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace pipekit::fileload {

// part-<UTC yyyymmddThhmmssZ>-<host>-<pid>-<run id>-<seq, 6 digits><ext>
// The run id is 64 random bits (getrandom), so two runs never share a name,
// on one host or several (members of a consumer group writing to one folder).
class FileNamer {
 public:
  explicit FileNamer(std::string extension);
  std::string next();  // the next final name; its temporary name is temp_name(next)
  const std::string& run_id() const { return run_id_; }

 private:
  std::string extension_, host_, run_id_;
  uint64_t seq_ = 0;
};

// ".<final name>.tmp": hidden, so readers of the folder (Hive, Spark, DuckDB
// globs, pyarrow datasets) skip files still being written.
std::string temp_name(std::string_view final_name);
bool is_temp_name(std::string_view name);

// "FIELD=VALUE" with the characters Hive escapes written as %XX; a null or
// missing value is __HIVE_DEFAULT_PARTITION__.
std::string hive_segment(std::string_view field, const std::string* value);

// Creates dir and its missing parents, fsyncing the parent of each one made so
// that the folders survive a crash. Throws IoError.
void make_dirs_durable(const std::filesystem::path& dir);
// fsync a folder (after a rename into it). Throws IoError.
void sync_dir(const std::filesystem::path& dir);

// Creates dir/.NAME.tmp exclusively and locks it (flock LOCK_EX) for as long
// as the returned descriptor is open. Returns -1 if another process holds the
// name (the caller picks another). Throws IoError.
int create_locked_temp(const std::filesystem::path& path);

// The durable commit: fsync(fd), rename temp -> final without replacing an
// existing file, fsync the folder. The descriptor stays open (and locked)
// until the caller closes it. Throws IoError.
void commit_file(int fd, const std::filesystem::path& temp, const std::filesystem::path& final_path);

// Removes the temporary files under root that no live process holds (a
// previous run killed mid-file). Returns how many were removed.
uint64_t remove_stale_temps(const std::filesystem::path& root);

}  // namespace pipekit::fileload
