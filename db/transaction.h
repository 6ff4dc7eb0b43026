#pragma once

#include "common/result.h"

namespace keyline::db {

class Database;

// One database transaction, rolled back unless commit() succeeds. Transactions nest by joining:
// a repository call opens its own when the caller has none, and joins the caller's otherwise,
// so a state change and the audit entry that records it commit together or not at all.
// A joined transaction that ends without commit() poisons the outer one: its commit() then
// rolls back, so an ignored error cannot commit half a change.
class [[nodiscard]] Transaction {
public:
    Transaction(Transaction&& other) noexcept;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();

    // Commits (the outermost one) or hands over to the enclosing transaction (a joined one).
    Result<void> commit();

    // True for the transaction that began the database transaction.
    bool isOutermost() const { return m_outermost; }

private:
    friend class Database;
    Transaction(Database* db, bool outermost)
        : m_db(db)
        , m_outermost(outermost) {}

    void abandon();

    Database* m_db;
    bool m_outermost;
    bool m_finished = false;
};

} // namespace keyline::db
