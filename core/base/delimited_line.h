#ifndef RECSERVE_CORE_BASE_DELIMITED_LINE_H_
#define RECSERVE_CORE_BASE_DELIMITED_LINE_H_

// Building blocks for reading line-oriented delimited text files (rating
// files, item metadata, factor files): a fast block-buffered line reader,
// field splitting (plain and RFC 4180 CSV), strict whole-field number
// parsing, and UTF-8 / Latin-1 helpers.
//
// None of these functions know about file names or line numbers in their
// error messages; callers prefix them ("<path>:<line>: ...").

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace recserve {

// ---------------------------------------------------------------------------
// Reading lines.

// Reads a text file line by line through a large buffer (no per-line
// allocation). Lines are returned without their terminator: "\n", "\r\n" and
// a final line without a newline are all handled. A UTF-8 byte-order mark at
// the very start of the file is dropped. Lines may be of any length.
//
// Not thread-safe; one reader per thread. Owns the open file descriptor and
// closes it on destruction.
class LineReader final {
 public:
  struct Options {
    // Bytes read per read(2) call (the buffer grows if one line is longer).
    // Default 16 MiB.
    size_t block_size = size_t{16} << 20;
    // Called after every block read with the bytes read so far and the file
    // size (-1 if the size is unknown, e.g. a pipe), and once more at end of
    // file. May be empty.
    std::function<void(int64_t bytes_done, int64_t bytes_total)> progress;
  };

  // Opens `path`. Errors: NotFound if it does not exist, otherwise the
  // errno-derived status (e.g. PermissionDenied); messages name the path.
  static absl::StatusOr<std::unique_ptr<LineReader>> Open(
      const std::string& path, Options options);
  static absl::StatusOr<std::unique_ptr<LineReader>> Open(
      const std::string& path) {
    return Open(path, Options());
  }

  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Sets `*line` to the next line and returns true. `*line` stays valid until
  // the next call. Returns false at end of file or on a read error; check
  // status() to tell them apart.
  bool Next(absl::string_view* line);

  // Skips empty lines up to the first line with content and sets `*line`
  // to it. Errors: a read error, or InvalidArgument "<path>: empty file, no
  // <what>" when the file has no such line.
  absl::Status NextNonEmpty(absl::string_view what, absl::string_view* line);

  // OK unless a read failed (the errno-derived status, naming the path).
  const absl::Status& status() const { return status_; }
  // 1-based number of the line last returned by Next (0 before the first).
  int64_t line_number() const { return line_number_; }
  // File size at open time, or -1 if unknown.
  int64_t file_size() const { return file_size_; }
  // Estimated number of lines in the whole file, from the newlines in a few
  // 64 KiB samples spread over it (read with pread: does not disturb Next).
  // Meant for reserving memory; -1 if the size is unknown or a read fails.
  int64_t EstimateLineCount() const;
  const std::string& path() const { return path_; }

 private:
  LineReader(int fd, std::string path, int64_t file_size, Options options);
  bool Fill();  // Reads more data; false at EOF or on error.

  int fd_;
  std::string path_;
  int64_t file_size_;
  Options options_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  size_t begin_ = 0;  // Unconsumed data is buffer_[begin_, end_).
  size_t end_ = 0;
  int64_t bytes_read_ = 0;
  int64_t line_number_ = 0;
  bool eof_ = false;
  bool at_start_ = true;
  absl::Status status_;
};

// ---------------------------------------------------------------------------
// Splitting fields.

// Splits `line` at every occurrence of `delimiter` (no quoting) into
// `*fields`, which is cleared first and whose views point into `line`.
// "a,,b" gives {"a", "", "b"} and "" gives {""}. `delimiter` must not be
// empty. Reusing one `fields` vector across lines avoids allocation.
void SplitFields(absl::string_view line, char delimiter,
                 std::vector<absl::string_view>* fields);
void SplitFields(absl::string_view line, absl::string_view delimiter,
                 std::vector<absl::string_view>* fields);

// Splits one line as an RFC 4180 record. A field whose first character is a
// double quote is quoted: it runs to the next lone quote, may contain the
// delimiter, and "" inside it stands for one quote. Other fields are taken
// as is. Records spanning several lines are not supported.
//
// The views in `*fields` point into `line` or into the splitter's own
// buffer, and stay valid until the next Split call. Not thread-safe.
class CsvSplitter final {
 public:
  explicit CsvSplitter(char delimiter = ',') : delimiter_(delimiter) {}

  // Errors (InvalidArgument): an unterminated quoted field, or characters
  // between a closing quote and the next delimiter.
  absl::Status Split(absl::string_view line,
                     std::vector<absl::string_view>* fields);

 private:
  char delimiter_;
  std::string unquoted_;  // Backing store for unescaped quoted fields.
};

// ---------------------------------------------------------------------------
// Parsing numbers. All require the WHOLE of `s` to be the number: no
// whitespace, no leading '+', no trailing characters.

// True if `s` is non-empty and only ASCII digits.
bool IsAsciiDigits(absl::string_view s);

// Base-10 integer with an optional leading '-'. False if malformed or out of
// the range of int64_t.
bool ParseInt64(absl::string_view s, int64_t* out);

// Decimal or scientific floating point ("4", "3.5", ".5", "1e-3"). Like
// std::from_chars it also accepts "nan" and "inf"/"infinity" (any case):
// callers that need a finite value must check std::isfinite. False if
// malformed or out of the range of float.
bool ParseFloat(absl::string_view s, float* out);

// ---------------------------------------------------------------------------
// Error messages.

// `value` in single quotes for an error message, cut to its first 60 bytes
// plus "..." if longer: "non-numeric user id 'abc'".
std::string QuoteForMessage(absl::string_view value);

// ---------------------------------------------------------------------------
// Text encodings.

// True if `s` is well-formed UTF-8 (no overlong forms, surrogates, or code
// points above U+10FFFF).
bool IsValidUtf8(absl::string_view s);

// Decodes ISO-8859-1 (every byte is the code point of the same value) to
// UTF-8, e.g. byte 0xE9 becomes "é" (0xC3 0xA9).
std::string Latin1ToUtf8(absl::string_view s);

// `s` unchanged if it is valid UTF-8, otherwise Latin1ToUtf8(s). This is the
// rule for MovieLens metadata, whose releases use either encoding.
std::string Utf8OrLatin1ToUtf8(absl::string_view s);

// What a reader does with a malformed line `line` of `path`: without
// `skip`, returns InvalidArgument "<path>:<line>: <error>" to fail with;
// with it, counts the line in *skipped, keeps the message in *messages while
// they hold fewer than kMaxBadLineMessages, and returns OK to go on.
inline constexpr size_t kMaxBadLineMessages = 10;
absl::Status HandleBadLine(absl::string_view path, int64_t line,
                           absl::string_view error, bool skip, int64_t* skipped,
                           std::vector<std::string>* messages);

}  // namespace recserve

#endif  // RECSERVE_CORE_BASE_DELIMITED_LINE_H_
