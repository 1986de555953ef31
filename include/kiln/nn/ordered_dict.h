// kiln::OrderedDict: what named_parameters(), named_buffers(),
// named_children() and named_modules() return, as LibTorch's
// torch::OrderedDict: items in insertion order, each with .key() and
// .value(), looked up by key or by position.
//
//   for (const auto& p : model->named_parameters()) std::cout << p.key() << " " << p.value().sizes();
//   Tensor w = model->named_parameters()["fc.weight"];
//
// An item is also a plain pair (`first`, `second`), so structured bindings
// work: for (auto& [name, t] : model->named_parameters()).
#pragma once
#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kiln/core/error.h"

namespace kiln {

template <class Key, class Value>
class OrderedDict {
 public:
  struct Item {
    Key first;
    Value second;
    const Key& key() const { return first; }
    Value& value() { return second; }
    const Value& value() const { return second; }
    std::pair<Key, Value> pair() const { return {first, second}; }
  };
  using iterator = typename std::vector<Item>::iterator;
  using const_iterator = typename std::vector<Item>::const_iterator;

  OrderedDict() = default;
  explicit OrderedDict(std::string key_description) : key_description_(std::move(key_description)) {}

  // Adds an item; a key already present throws ValueError.
  Value& insert(Key key, Value value) {
    KILN_CHECK(index_.count(key) == 0, ValueError, key_description_, " '", key, "' already defined");
    index_.emplace(key, items_.size());
    items_.push_back(Item{std::move(key), std::move(value)});
    return items_.back().second;
  }
  // Inserts, or replaces the value of an existing key (its position kept).
  void update(const Key& key, Value value) {
    if (Value* v = find(key)) *v = std::move(value);
    else insert(key, std::move(value));
  }
  // The value of `key` (KeyError-like ValueError when absent).
  Value& operator[](const Key& key) { return items_[checked_index(key)].second; }
  const Value& operator[](const Key& key) const { return items_[checked_index(key)].second; }
  // The item at a position (IndexError when out of range).
  Item& operator[](size_t i) { return items_[checked_position(i)]; }
  const Item& operator[](size_t i) const { return items_[checked_position(i)]; }
  // The int overloads keep d[0] from being ambiguous between a key and a position.
  Item& operator[](int i) { return (*this)[static_cast<size_t>(i)]; }
  const Item& operator[](int i) const { return (*this)[static_cast<size_t>(i)]; }
  Value& at(const Key& key) { return (*this)[key]; }
  const Value& at(const Key& key) const { return (*this)[key]; }
  // A pointer to the value of `key`, or null.
  Value* find(const Key& key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  const Value* find(const Key& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  bool contains(const Key& key) const { return index_.count(key) != 0; }
  // Removes `key` and returns its value (ValueError when absent).
  Value pop(const Key& key) {
    const size_t i = checked_index(key);
    Value v = std::move(items_[i].second);
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(i));
    rebuild_index();
    return v;
  }
  void clear() {
    items_.clear();
    index_.clear();
  }

  size_t size() const { return items_.size(); }
  bool is_empty() const { return items_.empty(); }
  bool empty() const { return items_.empty(); }
  std::vector<Key> keys() const {
    std::vector<Key> out;
    for (const Item& it : items_) out.push_back(it.first);
    return out;
  }
  std::vector<Value> values() const {
    std::vector<Value> out;
    for (const Item& it : items_) out.push_back(it.second);
    return out;
  }
  const std::vector<Item>& items() const { return items_; }
  Item& front() { return items_[checked_position(0)]; }
  const Item& front() const { return items_[checked_position(0)]; }
  Item& back() { return items_[checked_position(items_.size() - 1)]; }
  const Item& back() const { return items_[checked_position(items_.size() - 1)]; }

  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }

 private:
  size_t checked_index(const Key& key) const {
    auto it = index_.find(key);
    KILN_CHECK(it != index_.end(), ValueError, key_description_, " '", key, "' is not defined");
    return it->second;
  }
  size_t checked_position(size_t i) const {
    KILN_CHECK(i < items_.size(), IndexError, "OrderedDict: index ", i, " is out of range for ", items_.size(),
               " items");
    return i;
  }
  void rebuild_index() {
    index_.clear();
    for (size_t i = 0; i < items_.size(); ++i) index_.emplace(items_[i].first, i);
  }
  std::string key_description_ = "Key";
  std::vector<Item> items_;
  std::unordered_map<Key, size_t> index_;
};

}  // namespace kiln
