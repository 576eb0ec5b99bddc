#include "suggestion.hpp"

#include <algorithm>
#include <array>
#include <cstddef>

namespace tfd::python {
namespace {

constexpr Py_ssize_t move_cost = 2;  // insert, delete, or replace by another letter
constexpr Py_ssize_t case_cost = 1;  // replace by the same letter in the other case
constexpr std::size_t longest = 40;  // longer (trimmed) names are never suggested
constexpr Py_ssize_t most_candidates = 750;

char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

Py_ssize_t replace_cost(char a, char b) noexcept {
    if (a == b) {
        return 0;
    }
    return lower(a) == lower(b) ? case_cost : move_cost;
}

}  // namespace

Py_ssize_t suggestion_distance(std::string_view a, std::string_view b, Py_ssize_t max_cost) {
    // What the two share at either end costs nothing: drop it.
    while (!a.empty() && !b.empty() && a.front() == b.front()) {
        a.remove_prefix(1);
        b.remove_prefix(1);
    }
    while (!a.empty() && !b.empty() && a.back() == b.back()) {
        a.remove_suffix(1);
        b.remove_suffix(1);
    }
    if (a.empty() || b.empty()) {
        return static_cast<Py_ssize_t>(a.size() + b.size()) * move_cost;
    }
    if (a.size() > longest || b.size() > longest) {
        return max_cost + 1;
    }
    if (b.size() < a.size()) {
        std::swap(a, b);  // the row below runs along the shorter one
    }
    if (static_cast<Py_ssize_t>(b.size() - a.size()) * move_cost > max_cost) {
        return max_cost + 1;  // the length difference alone costs too much
    }
    // row[i]: the distance between a[0..i] and the part of b seen so far.
    std::array<Py_ssize_t, longest> row{};
    for (std::size_t i = 0; i < a.size(); ++i) {
        row[i] = static_cast<Py_ssize_t>(i + 1) * move_cost;
    }
    Py_ssize_t result = 0;
    for (std::size_t j = 0; j < b.size(); ++j) {
        Py_ssize_t diagonal = static_cast<Py_ssize_t>(j) * move_cost;  // row[i - 1] before
        result = diagonal;
        Py_ssize_t best_in_row = max_cost + 1;
        for (std::size_t i = 0; i < a.size(); ++i) {
            const Py_ssize_t replaced = diagonal + replace_cost(b[j], a[i]);
            diagonal = row[i];
            const Py_ssize_t inserted_or_deleted = std::min(result, row[i]) + move_cost;
            result = std::min(inserted_or_deleted, replaced);
            row[i] = result;
            best_in_row = std::min(best_in_row, result);
        }
        if (best_in_row > max_cost) {
            return max_cost + 1;  // every path through this row already costs too much
        }
    }
    return result;
}

PyObject* suggest_name(PyObject* candidates, PyObject* name) {
    PyObject* items = PySequence_Fast(candidates, "candidates must be a sequence");
    if (items == nullptr) {
        PyErr_Clear();
        return nullptr;
    }
    const Py_ssize_t count = PySequence_Fast_GET_SIZE(items);
    Py_ssize_t name_size = 0;
    const char* name_text = count < most_candidates && PyUnicode_Check(name)
                                ? PyUnicode_AsUTF8AndSize(name, &name_size)
                                : nullptr;
    PyObject* best = nullptr;
    Py_ssize_t best_distance = PY_SSIZE_T_MAX;
    for (Py_ssize_t k = 0; name_text != nullptr && k < count; ++k) {
        PyObject* item = PySequence_Fast_GET_ITEM(items, k);
        Py_ssize_t item_size = 0;
        const char* item_text =
            PyUnicode_Check(item) ? PyUnicode_AsUTF8AndSize(item, &item_size) : nullptr;
        if (item_text == nullptr) {
            best = nullptr;
            break;
        }
        const std::string_view a(name_text, static_cast<std::size_t>(name_size));
        const std::string_view b(item_text, static_cast<std::size_t>(item_size));
        if (a == b) {
            continue;
        }
        // At most a third of the characters involved may change, and only a closer match
        // than the best so far counts.
        const Py_ssize_t allowed =
            std::min((name_size + item_size + 3) * move_cost / 6, best_distance - 1);
        const Py_ssize_t distance = suggestion_distance(a, b, allowed);
        if (distance <= allowed && (best == nullptr || distance < best_distance)) {
            best = item;
            best_distance = distance;
        }
    }
    PyErr_Clear();
    Py_XINCREF(best);
    Py_DECREF(items);
    return best;
}

}  // namespace tfd::python
