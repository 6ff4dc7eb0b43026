#pragma once

// Station operators: a name, a role deciding what they may do, and a PIN kept only as a slow
// salted hash (PinHasher). Authentication failures look the same whether the name is unknown,
// inactive or the PIN wrong, and take the same time, so a failure tells an attacker nothing.

#include "common/result.h"
#include "db/pin_hasher.h"

#include <QString>
#include <vector>

namespace keyline::db {

class Database;

enum class Role { Operator, Supervisor, Engineer };
QString roleName(Role role); // "operator", "supervisor", "engineer"
Result<Role> parseRole(const QString& text);

struct OperatorAccount {
    QString name;
    Role role = Role::Operator;
    bool active = true;
    QString createdAt;
    QString updatedAt;
};

bool isValidOperatorName(const QString& name);

class OperatorRepository {
public:
    explicit OperatorRepository(Database& db, PinHasher hasher = PinHasher())
        : m_db(db)
        , m_hasher(hasher) {}

    // InvalidArgument for a bad name or PIN; Refused (AlreadyExists) for a taken name.
    Result<OperatorAccount> create(const QString& name, Role role, const QString& pin);
    // Refused (WrongCredentials) for an unknown or inactive name or a wrong PIN.
    Result<OperatorAccount> authenticate(const QString& name, const QString& pin);
    Result<void> changePin(const QString& name, const QString& newPin);
    Result<void> setRole(const QString& name, Role role);
    Result<void> setActive(const QString& name, bool active);
    Result<OperatorAccount> find(const QString& name); // NotFound
    Result<std::vector<OperatorAccount>> list();

private:
    Result<void> update(const QString& name, const QString& column, const QVariant& value);

    Database& m_db;
    PinHasher m_hasher;
};

} // namespace keyline::db
