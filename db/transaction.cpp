#include "db/transaction.h"

#include "db/database.h"

namespace keyline::db {

Transaction::Transaction(Transaction&& other) noexcept
    : m_db(other.m_db)
    , m_outermost(other.m_outermost)
    , m_finished(other.m_finished) {
    other.m_finished = true;
}

Transaction::~Transaction() {
    if (!m_finished)
        abandon();
}

void Transaction::abandon() {
    m_finished = true;
    if (m_outermost)
        (void)m_db->endTransaction(false);
    else
        m_db->leaveJoinedTransaction(false);
}

Result<void> Transaction::commit() {
    if (m_finished)
        return Error(ErrorCode::Internal, QStringLiteral("transaction already finished"));
    m_finished = true;
    if (!m_outermost) {
        m_db->leaveJoinedTransaction(true);
        return success();
    }
    return m_db->endTransaction(true);
}

} // namespace keyline::db
