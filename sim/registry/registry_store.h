#pragma once

// The registry's own SQLite file: one row per (customer, device). Kept apart from the
// station's database (db/) on purpose: the registry stands for a back-end the station does not
// own, and its schema is this one table. Every write is one statement in autocommit with
// synchronous=FULL, so an answered registration survives a power cut.

#include "common/result.h"

#include <QJsonObject>
#include <QSqlDatabase>
#include <QString>
#include <memory>
#include <optional>

namespace keyline::registry {

struct DeviceRecord {
    QString customerId;
    QString deviceId;
    QString environment;
    QString chipUid;
    QString state; // created | bootstrapped
    QByteArray certificateDer;
    QString registeredBy;   // the station CN that registered it
    QString createdAt;      // ISO 8601 UTC
    QString bootstrappedAt; // empty until bootstrapped
};

// The record as the API shows it (docs/backend-api.md, "Device record").
QJsonObject toJson(const DeviceRecord& record);
QByteArray certificateSha256(const DeviceRecord& record);

class RegistryStore {
public:
    // Creates the file and table if needed. EnvironmentNotReady if the driver is missing or the
    // file cannot be opened.
    static Result<std::unique_ptr<RegistryStore>> open(const QString& path);
    ~RegistryStore();
    RegistryStore(const RegistryStore&) = delete;
    RegistryStore& operator=(const RegistryStore&) = delete;

    Result<std::optional<DeviceRecord>> find(const QString& customer, const QString& device);
    // Ordered by device ID; `state` empty for all.
    Result<QList<DeviceRecord>> list(const QString& customer, const QString& state);
    Result<void> insert(const DeviceRecord& record);
    Result<void> markBootstrapped(const QString& customer, const QString& device,
                                  const QString& at);

private:
    explicit RegistryStore(QString connectionName);
    QString m_connectionName;
};

} // namespace keyline::registry
