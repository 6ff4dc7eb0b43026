#pragma once

// Production orders: who the devices are for, how many, and which package and keystore go on
// them. An order is created open and closed once; closed orders take no more devices.

#include "common/result.h"

#include <QString>
#include <vector>

namespace keyline::db {

class Database;

enum class Environment { Development, Production };
QString environmentName(Environment environment); // "dev", "prod"
Result<Environment> parseEnvironment(const QString& text);

enum class OrderState { Open, Closed };

struct NewOrder {
    QString id;         // [A-Za-z0-9][A-Za-z0-9._-]{0,31}: it prefixes the device IDs
    QString customerId; // non-empty
    Environment environment = Environment::Development;
    int quantity = 0;       // 1 .. 99999
    QString packagePath;    // the OS + application package
    QString packageSha256;  // 64 lowercase hex digits
    QString keystoreSha256; // 64 lowercase hex digits
    QString createdBy;      // operator name
};

struct Order : NewOrder {
    OrderState state = OrderState::Open;
    QString createdAt; // UTC ISO 8601 with ms
    QString closedAt;  // empty while open
};

bool isValidOrderId(const QString& id);
bool isSha256Hex(const QString& text);

class OrderRepository {
public:
    explicit OrderRepository(Database& db)
        : m_db(db) {}

    // InvalidArgument for a malformed field; Refused (AlreadyExists) for a taken ID.
    Result<Order> create(const NewOrder& order);
    Result<Order> find(const QString& id); // NotFound
    // find(), and on PostgreSQL a row lock held until the caller's transaction ends: every
    // station that allocates a device ID or counts certificates against the order's quantity
    // takes it first, so they queue instead of each seeing room for one more. Inside a
    // transaction only.
    Result<Order> findForUpdate(const QString& id);
    Result<std::vector<Order>> list(); // oldest first
    // Idempotent: closing a closed order returns it unchanged.
    Result<Order> close(const QString& id);

private:
    Result<Order> select(const QString& id, const QString& lockSuffix);

    Database& m_db;
};

} // namespace keyline::db
