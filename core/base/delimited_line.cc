#include "core/base/delimited_line.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"

namespace recserve {

absl::StatusOr<std::unique_ptr<LineReader>> LineReader::Open(
    const std::string& path, Options options) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat(path, ": no such file (", std::strerror(error), ")"));
    }
    return absl::ErrnoToStatus(error, absl::StrCat(path, ": cannot open"));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    return absl::ErrnoToStatus(error, absl::StrCat(path, ": cannot stat"));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is a directory, not a file"));
  }
  const int64_t size = S_ISREG(st.st_mode) ? int64_t{st.st_size} : -1;
  if (size >= 0) ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<LineReader>(
      new LineReader(fd, path, size, std::move(options)));
}

LineReader::LineReader(int fd, std::string path, int64_t file_size,
                       Options options)
    : fd_(fd),
      path_(std::move(path)),
      file_size_(file_size),
      options_(std::move(options)) {
  size_t capacity = options_.block_size < 4096 ? 4096 : options_.block_size;
  // A small file fits in one read and the following read sees EOF.
  if (file_size_ >= 0 && static_cast<size_t>(file_size_) + 1 < capacity) {
    capacity = static_cast<size_t>(file_size_) + 1;
  }
  capacity_ = capacity < 64 ? 64 : capacity;
  buffer_.reset(new char[capacity_]);
}

LineReader::~LineReader() { ::close(fd_); }

int64_t LineReader::EstimateLineCount() const {
  if (file_size_ < 0) return -1;
  if (file_size_ == 0) return 0;
  constexpr int64_t kSample = 64 << 10;
  constexpr int kSamples = 4;
  std::unique_ptr<char[]> sample(new char[kSample]);
  int64_t sampled = 0, newlines = 0;
  for (int k = 0; k < kSamples; ++k) {
    const int64_t offset = file_size_ * k / kSamples;
    const ssize_t n = ::pread(fd_, sample.get(), kSample, offset);
    if (n < 0) return -1;
    for (ssize_t i = 0; i < n; ++i) newlines += sample[i] == '\n';
    sampled += n;
    if (offset + kSample >= file_size_) break;  // Sampled the whole rest.
  }
  if (sampled == 0) return -1;
  if (newlines == 0) return 1;
  return static_cast<int64_t>(static_cast<double>(file_size_) * newlines /
                              sampled) +
         1;
}

bool LineReader::Fill() {
  if (eof_ || !status_.ok()) return false;
  if (begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == capacity_) {  // One line fills the whole buffer: grow it.
    std::unique_ptr<char[]> bigger(new char[capacity_ * 2]);
    std::memcpy(bigger.get(), buffer_.get(), end_);
    buffer_ = std::move(bigger);
    capacity_ *= 2;
  }
  ssize_t n;
  do {
    n = ::read(fd_, buffer_.get() + end_, capacity_ - end_);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    status_ = absl::ErrnoToStatus(errno, absl::StrCat(path_, ": read failed"));
    return false;
  }
  end_ += static_cast<size_t>(n);
  bytes_read_ += n;
  if (n == 0) eof_ = true;
  if (at_start_ && (end_ >= 3 || eof_)) {
    at_start_ = false;
    if (end_ >= 3 && std::memcmp(buffer_.get(), "\xEF\xBB\xBF", 3) == 0) {
      begin_ = 3;
    }
  }
  if (options_.progress) options_.progress(bytes_read_, file_size_);
  return n > 0;
}

absl::Status LineReader::NextNonEmpty(absl::string_view what,
                                      absl::string_view* line) {
  bool found = false;
  while (!found && Next(line)) found = !line->empty();
  if (!status_.ok()) return status_;
  if (!found) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": empty file, no ", what));
  }
  return absl::OkStatus();
}

bool LineReader::Next(absl::string_view* line) {
  while (true) {
    const char* data = buffer_.get();
    if (begin_ < end_ && !at_start_) {
      const void* newline = std::memchr(data + begin_, '\n', end_ - begin_);
      size_t stop =
          newline == nullptr
              ? end_
              : static_cast<size_t>(static_cast<const char*>(newline) - data);
      if (newline != nullptr || eof_) {
        size_t length = stop - begin_;
        if (length > 0 && data[stop - 1] == '\r') --length;
        *line = absl::string_view(data + begin_, length);
        begin_ = newline == nullptr ? end_ : stop + 1;
        ++line_number_;
        return true;
      }
    } else if (eof_) {
      return false;
    }
    if (!Fill() && !status_.ok()) return false;
  }
}

void SplitFields(absl::string_view line, char delimiter,
                 std::vector<absl::string_view>* fields) {
  fields->clear();
  const char* p = line.data();
  const char* end = p + line.size();
  while (true) {
    const void* hit = std::memchr(p, delimiter, static_cast<size_t>(end - p));
    if (hit == nullptr) {
      fields->emplace_back(p, static_cast<size_t>(end - p));
      return;
    }
    const char* d = static_cast<const char*>(hit);
    fields->emplace_back(p, static_cast<size_t>(d - p));
    p = d + 1;
  }
}

void SplitFields(absl::string_view line, absl::string_view delimiter,
                 std::vector<absl::string_view>* fields) {
  if (delimiter.size() == 1) return SplitFields(line, delimiter[0], fields);
  fields->clear();
  size_t pos = 0;
  while (true) {
    const size_t hit = line.find(delimiter, pos);
    if (hit == absl::string_view::npos) {
      fields->push_back(line.substr(pos));
      return;
    }
    fields->push_back(line.substr(pos, hit - pos));
    pos = hit + delimiter.size();
  }
}

absl::Status CsvSplitter::Split(absl::string_view line,
                                std::vector<absl::string_view>* fields) {
  if (line.find('"') == absl::string_view::npos) {
    SplitFields(line, delimiter_, fields);
    return absl::OkStatus();
  }
  fields->clear();
  unquoted_.clear();
  // Unescaped text is never longer than the line, so this reserve makes
  // sure the views into unquoted_ are not invalidated by reallocation.
  unquoted_.reserve(line.size());
  size_t i = 0;
  const size_t n = line.size();
  while (true) {
    if (i < n && line[i] == '"') {
      const size_t start = unquoted_.size();
      ++i;
      while (true) {
        if (i >= n) {
          return absl::InvalidArgumentError(
              absl::StrCat("unterminated quoted field ", fields->size() + 1));
        }
        if (line[i] == '"') {
          if (i + 1 < n && line[i + 1] == '"') {
            unquoted_.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        unquoted_.push_back(line[i++]);
      }
      fields->emplace_back(unquoted_.data() + start, unquoted_.size() - start);
      if (i == n) return absl::OkStatus();
      if (line[i] != delimiter_) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected character after the closing quote of "
                         "field ",
                         fields->size()));
      }
      ++i;
    } else {
      const size_t hit = line.find(delimiter_, i);
      if (hit == absl::string_view::npos) {
        fields->push_back(line.substr(i));
        return absl::OkStatus();
      }
      fields->push_back(line.substr(i, hit - i));
      i = hit + 1;
    }
  }
}

bool IsAsciiDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool ParseInt64(absl::string_view s, int64_t* out) {
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && ptr == end && !s.empty();
}

bool ParseFloat(absl::string_view s, float* out) {
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && ptr == end && !s.empty();
}

std::string QuoteForMessage(absl::string_view value) {
  constexpr size_t kMax = 60;
  if (value.size() <= kMax) return absl::StrCat("'", value, "'");
  return absl::StrCat("'", value.substr(0, kMax), "...'");
}

bool IsValidUtf8(absl::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra;
    uint32_t code;
    uint32_t min;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, code = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, code = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, code = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int k = 1; k <= extra; ++k) {
      if ((p[k] & 0xC0) != 0x80) return false;
      code = (code << 6) | (p[k] & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    p += extra + 1;
  }
  return true;
}

std::string Latin1ToUtf8(absl::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

std::string Utf8OrLatin1ToUtf8(absl::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  return Latin1ToUtf8(s);
}

absl::Status HandleBadLine(absl::string_view path, int64_t line,
                           absl::string_view error, bool skip, int64_t* skipped,
                           std::vector<std::string>* messages) {
  std::string message = absl::StrCat(path, ":", line, ": ", error);
  if (!skip) return absl::InvalidArgumentError(message);
  ++*skipped;
  if (messages->size() < kMaxBadLineMessages) {
    messages->push_back(std::move(message));
  }
  return absl::OkStatus();
}

}  // namespace recserve
