#pragma once

#include "common/error.h"

#include <optional>
#include <utility>
#include <variant>

namespace keyline {

// A value or the Error that prevented it. Deliberately small: construct from either, test with
// ok() or bool, take value() only after checking.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value)
        : m_state(std::in_place_index<0>, std::move(value)) {}
    Result(Error error)
        : m_state(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return m_state.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(m_state); }
    const T& value() const& { return std::get<0>(m_state); }
    T&& value() && { return std::get<0>(std::move(m_state)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const& { return std::get<1>(m_state); }
    Error&& error() && { return std::get<1>(std::move(m_state)); }

    T valueOr(T fallback) const& { return ok() ? value() : std::move(fallback); }

    // Adds context to the error, if any, and passes the result on.
    Result&& context(const QString& what) && {
        if (!ok())
            std::get<1>(m_state).context(what);
        return std::move(*this);
    }

private:
    std::variant<T, Error> m_state;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error)
        : m_error(std::move(error)) {}

    bool ok() const { return !m_error.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const& { return *m_error; }
    Error&& error() && { return std::move(*m_error); }

    Result&& context(const QString& what) && {
        if (m_error)
            m_error->context(what);
        return std::move(*this);
    }

private:
    std::optional<Error> m_error;
};

inline Result<void> success() {
    return {};
}

} // namespace keyline

#define KEYLINE_CONCAT_INNER(a, b) a##b
#define KEYLINE_CONCAT(a, b) KEYLINE_CONCAT_INNER(a, b)

// Returns the error from the enclosing function if `expr` failed.
#define KL_TRY(expr)                                                                               \
    do {                                                                                           \
        if (auto kl_try_result = (expr); !kl_try_result.ok())                                      \
            return std::move(kl_try_result).error();                                               \
    } while (false)

// Declares or assigns `lhs` from a successful `expr`, or returns its error.
#define KL_TRY_ASSIGN(lhs, expr) KL_TRY_ASSIGN_IMPL(KEYLINE_CONCAT(kl_try_, __LINE__), lhs, expr)
#define KL_TRY_ASSIGN_IMPL(tmp, lhs, expr)                                                         \
    auto tmp = (expr);                                                                             \
    if (!tmp.ok())                                                                                 \
        return std::move(tmp).error();                                                             \
    lhs = std::move(tmp).value()
