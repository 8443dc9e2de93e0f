#ifndef RECSERVE_CORE_DATA_EVENT_CELLS_H_
#define RECSERVE_CORE_DATA_EVENT_CELLS_H_

// Aggregation of implicit-feedback lines into one cell per (user, item), as
// ReadRatings does for implicit feedback (rating_reader.h).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/data/ratings.h"

namespace recserve {

// Merges the lines of a file, one at a time, into cells appended to a rating
// vector: per (user, item) the summed strengths of its positive lines and of
// its negative lines, the latest timestamp, and the polarity of the latest
// line (on a tie, the later line). Cells keep the order of their first line.
//
// Memory is O(cells + users + items), not O(lines): a log with many events
// per pair costs no more than its distinct pairs. Speed: a file grouped by
// user (as most exports are) is merged in cache, through an item-indexed
// array for the user of the current run of lines. A user that comes back
// after other users' lines moves to a hash table of cells; its lines are
// queued and merged in batches that prefetch their table slots, since in a
// file in time order each lookup is a random memory access.
//
// Ownership: `ratings` is borrowed and must outlive the object; nothing else
// may change it until Finish. Thread-safety: not thread-safe.
class EventCells final {
 public:
  // Cells are appended to `*ratings` after its current elements, which are
  // left alone.
  explicit EventCells(std::vector<Rating>* ratings);
  EventCells(const EventCells&) = delete;
  EventCells& operator=(const EventCells&) = delete;

  // Adds a line of `strength` (finite, >= 0), negative or positive. A cell
  // whose sum exceeds the float range becomes infinite (see Finish).
  void Add(int32_t user, int32_t item, float strength, bool negative,
           int64_t timestamp);

  struct Result {
    int64_t cells = 0;     // Cells appended.
    int64_t negative = 0;  // Cells whose value is negative.
    // The index in `ratings` of the first cell whose sum is not finite, or
    // -1. Its value is infinite.
    int64_t overflow = -1;
  };
  // Sets each cell's value to its positive sum, or minus its negative sum
  // when its latest line is negative, and frees the scratch memory. Call
  // once, after the last Add.
  Result Finish();

 private:
  struct Pending {
    int32_t user, item;
    float strength;
    bool negative;
    uint32_t hash;
    int64_t timestamp;
  };

  size_t size() const { return negative_sum_.size(); }
  // Finds the slot of (user, item) in table_: either its cell or the empty
  // slot where it belongs. `hash` is HashOf(user, item).
  size_t FindSlot(int32_t user, int32_t item, uint32_t hash) const;
  void Insert(size_t slot, size_t cell, uint32_t hash);
  void Grow();
  // Starts a run of lines of `user`; moves its cells to table_ if it had an
  // earlier run.
  void StartRun(int32_t user);
  // Merges the queued lines, in order.
  void Flush();
  // Appends a new cell for a line, or merges a line into cell `cell`.
  size_t NewCell(int32_t user, int32_t item, float strength, bool negative,
                 int64_t timestamp);
  void Merge(size_t cell, float strength, bool negative, int64_t timestamp);

  std::vector<Rating>* const ratings_;
  const size_t start_;
  // Per cell (index k is (*ratings_)[start_ + k]; its value holds the
  // positive sum until Finish).
  std::vector<float> negative_sum_;
  std::vector<uint8_t> latest_negative_;

  // Per user index: kFresh (no line yet), kHashed (its cells are in table_),
  // or the first cell of its only run so far, whose cells are consecutive.
  static constexpr uint32_t kFresh = 0xFFFFFFFF, kHashed = 0xFFFFFFFE;
  std::vector<uint32_t> user_state_;
  // The user of the current run of lines, and whether its cells are hashed.
  int32_t run_user_ = -1;
  bool run_hashed_ = false;
  uint32_t run_ = 0;  // Numbers runs, for item_run_.
  // Per item index: the run in which item_cell_ was set (so a run needs no
  // clearing), and the current run user's cell of the item.
  std::vector<uint32_t> item_run_;
  std::vector<uint32_t> item_cell_;
  // The previous line's item and cell in an unhashed run: events of one
  // pair often come in a row.
  int32_t last_item_ = -1;
  size_t last_cell_ = 0;

  // The hashed users' cells: open addressing with linear probing; a slot
  // holds 0 (empty) or (cell index + 1) << 32 | the pair's 32-bit hash,
  // whose low bits are the home slot: a probe compares hashes first and
  // growing needs no cell.
  std::vector<uint64_t> table_;
  size_t mask_ = 0;
  size_t hashed_ = 0;
  // Hashed users' lines not merged yet. Flushed when full, before a cell of
  // an unhashed run is appended (cells stay in order of first line), and by
  // Finish.
  std::vector<Pending> pending_;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_EVENT_CELLS_H_
