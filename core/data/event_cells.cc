#include "core/data/event_cells.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace recserve {
namespace {

constexpr size_t kInitialSlots = 1024;
constexpr size_t kBatch = 1024;  // Queued lines per Flush.

// splitmix64's finalizer over the pair: dense indices need good mixing.
uint32_t HashOf(int32_t user, int32_t item) {
  uint64_t z = (uint64_t{static_cast<uint32_t>(user)} << 32) |
               static_cast<uint32_t>(item);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return static_cast<uint32_t>(z ^ (z >> 31));
}

}  // namespace

EventCells::EventCells(std::vector<Rating>* ratings)
    : ratings_(ratings),
      start_(ratings->size()),
      table_(kInitialSlots, 0),
      mask_(kInitialSlots - 1) {
  pending_.reserve(kBatch);
}

size_t EventCells::FindSlot(int32_t user, int32_t item, uint32_t hash) const {
  const Rating* cells = ratings_->data() + start_;
  for (size_t slot = hash & mask_;; slot = (slot + 1) & mask_) {
    const uint64_t entry = table_[slot];
    if (entry == 0) return slot;
    if (static_cast<uint32_t>(entry) != hash) continue;
    const Rating& cell = cells[(entry >> 32) - 1];
    if (cell.user == user && cell.item == item) return slot;
  }
}

void EventCells::Insert(size_t slot, size_t cell, uint32_t hash) {
  table_[slot] = (uint64_t{cell + 1} << 32) | hash;
  // At most 70% full: linear probing stays short.
  if (++hashed_ * 10 > table_.size() * 7) Grow();
}

void EventCells::Grow() {
  std::vector<uint64_t> old(table_.size() * 2, 0);
  old.swap(table_);
  mask_ = table_.size() - 1;
  for (const uint64_t entry : old) {
    if (entry == 0) continue;
    size_t slot = static_cast<uint32_t>(entry) & mask_;
    while (table_[slot] != 0) slot = (slot + 1) & mask_;
    table_[slot] = entry;
  }
}

void EventCells::StartRun(int32_t user) {
  run_user_ = user;
  last_item_ = -1;
  if (++run_ == 0) {  // Wrapped: forget every item's run.
    std::fill(item_run_.begin(), item_run_.end(), 0);
    run_ = 1;
  }
  const size_t u = static_cast<size_t>(user);
  if (u >= user_state_.size()) {
    user_state_.resize(std::max(u + 1, user_state_.size() * 2), kFresh);
  }
  uint32_t& state = user_state_[u];
  if (state == kFresh) {
    Flush();                                // Its cells come after those.
    state = static_cast<uint32_t>(size());  // Its first cell, next.
    run_hashed_ = false;
    return;
  }
  run_hashed_ = true;
  if (state == kHashed) return;
  // Back after other users' lines: its first run's cells (consecutive, up
  // to the next user's) go to the table.
  const Rating* cells = ratings_->data() + start_;
  for (size_t k = state; k < size() && cells[k].user == user; ++k) {
    const uint32_t hash = HashOf(user, cells[k].item);
    Insert(FindSlot(user, cells[k].item, hash), k, hash);
  }
  state = kHashed;
}

size_t EventCells::NewCell(int32_t user, int32_t item, float strength,
                           bool negative, int64_t timestamp) {
  const size_t cell = size();
  ratings_->push_back(
      Rating{user, item, negative ? 0.0f : strength, timestamp});
  negative_sum_.push_back(negative ? strength : 0.0f);
  latest_negative_.push_back(negative ? 1 : 0);
  return cell;
}

void EventCells::Merge(size_t cell, float strength, bool negative,
                       int64_t timestamp) {
  Rating& r = (*ratings_)[start_ + cell];
  (negative ? negative_sum_[cell] : r.value) += strength;
  if (timestamp >= r.timestamp) {
    r.timestamp = timestamp;
    latest_negative_[cell] = negative ? 1 : 0;
  }
}

void EventCells::Add(int32_t user, int32_t item, float strength, bool negative,
                     int64_t timestamp) {
  if (user != run_user_) StartRun(user);
  if (run_hashed_) {
    pending_.push_back(
        Pending{user, item, strength, negative, HashOf(user, item), timestamp});
    if (pending_.size() == kBatch) Flush();
    return;
  }
  if (item != last_item_) {
    const size_t i = static_cast<size_t>(item);
    if (i >= item_run_.size()) {
      const size_t n = std::max(i + 1, item_run_.size() * 2);
      item_run_.resize(n, 0);
      item_cell_.resize(n);
    }
    last_item_ = item;
    if (item_run_[i] != run_) {
      item_run_[i] = run_;
      item_cell_[i] = static_cast<uint32_t>(size());
      last_cell_ = NewCell(user, item, strength, negative, timestamp);
      return;
    }
    last_cell_ = item_cell_[i];
  }
  Merge(last_cell_, strength, negative, timestamp);
}

void EventCells::Flush() {
  const size_t n = pending_.size();
  // Two prefetch stages: the slot kAhead lines ahead, then the cell it
  // names (if any) half as far ahead. The table may change meanwhile; a
  // stale prefetch only costs its load.
  constexpr size_t kAhead = 48;
  for (size_t j = 0; j < n && j < kAhead; ++j) {
    __builtin_prefetch(&table_[pending_[j].hash & mask_]);
  }
  for (size_t j = 0; j < n; ++j) {
    if (j + kAhead < n) {
      __builtin_prefetch(&table_[pending_[j + kAhead].hash & mask_]);
    }
    if (j + kAhead / 2 < n) {
      const Pending& ahead = pending_[j + kAhead / 2];
      const uint64_t entry = table_[ahead.hash & mask_];
      if (entry != 0 && static_cast<uint32_t>(entry) == ahead.hash) {
        const size_t cell = (entry >> 32) - 1;
        __builtin_prefetch(ratings_->data() + start_ + cell);
        __builtin_prefetch(latest_negative_.data() + cell);
        if (ahead.negative) __builtin_prefetch(negative_sum_.data() + cell);
      }
    }
    const Pending& p = pending_[j];
    const size_t slot = FindSlot(p.user, p.item, p.hash);
    if (table_[slot] == 0) {
      Insert(slot, NewCell(p.user, p.item, p.strength, p.negative, p.timestamp),
             p.hash);
    } else {
      Merge((table_[slot] >> 32) - 1, p.strength, p.negative, p.timestamp);
    }
  }
  pending_.clear();
}

EventCells::Result EventCells::Finish() {
  Flush();
  Result result;
  result.cells = static_cast<int64_t>(size());
  Rating* cells = ratings_->data() + start_;
  for (size_t k = 0; k < size(); ++k) {
    if (latest_negative_[k] != 0) {
      // Minus a zero sum (lines of strength 0) is +0, which reads as
      // positive.
      cells[k].value = negative_sum_[k] > 0 ? -negative_sum_[k] : 0.0f;
      result.negative += negative_sum_[k] > 0;
    }
    if (result.overflow < 0 && !std::isfinite(cells[k].value)) {
      result.overflow = static_cast<int64_t>(start_ + k);
    }
  }
  std::vector<float>().swap(negative_sum_);
  std::vector<uint8_t>().swap(latest_negative_);
  std::vector<uint64_t>().swap(table_);
  std::vector<uint32_t>().swap(user_state_);
  std::vector<uint32_t>().swap(item_run_);
  std::vector<uint32_t>().swap(item_cell_);
  std::vector<Pending>().swap(pending_);
  return result;
}

}  // namespace recserve
