#include "db/operator_repository.h"

#include "db/database.h"
#include "db/db_error.h"
#include "db/timestamp.h"

#include <QRegularExpression>

namespace keyline::db {

namespace {

const QString kColumns = QStringLiteral("name, role, active, created_at, updated_at");

Result<OperatorAccount> accountFromRow(const QSqlQuery& q) {
    OperatorAccount a;
    a.name = q.value(0).toString();
    KL_TRY_ASSIGN(a.role, parseRole(q.value(1).toString()));
    a.active = q.value(2).toInt() != 0;
    a.createdAt = q.value(3).toString();
    a.updatedAt = q.value(4).toString();
    return a;
}

Error wrongCredentials() {
    return refusal(DbRefusal::WrongCredentials, QStringLiteral("unknown operator or wrong PIN"));
}

} // namespace

QString roleName(Role role) {
    switch (role) {
    case Role::Operator:
        return QStringLiteral("operator");
    case Role::Supervisor:
        return QStringLiteral("supervisor");
    case Role::Engineer:
        return QStringLiteral("engineer");
    }
    return QStringLiteral("operator");
}

Result<Role> parseRole(const QString& text) {
    for (Role r : {Role::Operator, Role::Supervisor, Role::Engineer})
        if (roleName(r) == text)
            return r;
    return Error(ErrorCode::BadInput,
                 QStringLiteral("role \"%1\" is not operator, supervisor or engineer").arg(text));
}

bool isValidOperatorName(const QString& name) {
    // Names appear in the audit log and CSV exports: no separators, quotes or control bytes.
    static const QRegularExpression pattern(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}\\z"));
    return pattern.match(name).hasMatch();
}

Result<OperatorAccount> OperatorRepository::create(const QString& name, Role role,
                                                   const QString& pin) {
    if (!isValidOperatorName(name))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("operator name \"%1\" must be 1-64 letters, digits, '.', "
                                    "'_', '@' or '-'")
                         .arg(name));
    KL_TRY_ASSIGN(const QString pinHash, m_hasher.hash(pin));
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    KL_TRY_ASSIGN(QSqlQuery existing,
                  m_db.exec(QStringLiteral("SELECT 1 FROM operators WHERE name = ?"), {name}));
    if (existing.next())
        return refusal(DbRefusal::AlreadyExists,
                       QStringLiteral("operator %1 already exists").arg(name));
    OperatorAccount a;
    a.name = name;
    a.role = role;
    a.createdAt = timestampNow();
    a.updatedAt = a.createdAt;
    KL_TRY(m_db.run(QStringLiteral("INSERT INTO operators (name, role, pin_hash, active, "
                                   "created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?)"),
                    {name, roleName(role), pinHash, a.createdAt, a.updatedAt}));
    KL_TRY(tx.commit());
    return a;
}

Result<OperatorAccount> OperatorRepository::authenticate(const QString& name, const QString& pin) {
    KL_TRY_ASSIGN(QSqlQuery q, m_db.exec(QStringLiteral("SELECT ") + kColumns +
                                             QStringLiteral(", pin_hash FROM operators WHERE "
                                                            "name = ?"),
                                         {name}));
    if (!q.next()) {
        // The same work as a real check, so response time does not reveal valid names.
        (void)m_hasher.hash(QStringLiteral("timing-equaliser"));
        return wrongCredentials();
    }
    const bool pinMatches = m_hasher.verify(pin, q.value(5).toString());
    KL_TRY_ASSIGN(OperatorAccount account, accountFromRow(q));
    if (!pinMatches || !account.active)
        return wrongCredentials();
    return account;
}

Result<void> OperatorRepository::changePin(const QString& name, const QString& newPin) {
    KL_TRY_ASSIGN(const QString pinHash, m_hasher.hash(newPin));
    return update(name, QStringLiteral("pin_hash"), pinHash);
}

Result<void> OperatorRepository::setRole(const QString& name, Role role) {
    return update(name, QStringLiteral("role"), roleName(role));
}

Result<void> OperatorRepository::setActive(const QString& name, bool active) {
    return update(name, QStringLiteral("active"), active ? 1 : 0);
}

Result<OperatorAccount> OperatorRepository::find(const QString& name) {
    KL_TRY_ASSIGN(QSqlQuery q, m_db.exec(QStringLiteral("SELECT ") + kColumns +
                                             QStringLiteral(" FROM operators WHERE name = ?"),
                                         {name}));
    if (!q.next())
        return Error(ErrorCode::NotFound, QStringLiteral("no operator %1").arg(name));
    return accountFromRow(q);
}

Result<std::vector<OperatorAccount>> OperatorRepository::list() {
    KL_TRY_ASSIGN(QSqlQuery q, m_db.exec(QStringLiteral("SELECT ") + kColumns +
                                         QStringLiteral(" FROM operators ORDER BY name")));
    std::vector<OperatorAccount> accounts;
    while (q.next()) {
        KL_TRY_ASSIGN(OperatorAccount a, accountFromRow(q));
        accounts.push_back(std::move(a));
    }
    return accounts;
}

Result<void> OperatorRepository::update(const QString& name, const QString& column,
                                        const QVariant& value) {
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    KL_TRY(find(name));
    // `column` is one of this class's own literals, never caller input.
    KL_TRY(m_db.run(
        QStringLiteral("UPDATE operators SET %1 = ?, updated_at = ? WHERE name = ?").arg(column),
        {value, timestampNow(), name}));
    return tx.commit();
}

} // namespace keyline::db
