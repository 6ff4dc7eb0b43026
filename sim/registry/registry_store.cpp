#include "sim/registry/registry_store.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFileInfo>
#include <QSqlError>
#include <QSqlQuery>
#include <QUuid>
#include <QVariantList>

namespace keyline::registry {

namespace {

const QString kColumns = QStringLiteral(
    "customer_id, device_id, environment, chip_uid, state, certificate, registered_by, "
    "created_at, bootstrapped_at");

Error sqlError(const QString& what, const QSqlError& error) {
    return Error(ErrorCode::Io,
                 QStringLiteral("registry database: %1: %2").arg(what, error.text()));
}

DeviceRecord recordFrom(const QSqlQuery& q) {
    DeviceRecord r;
    r.customerId = q.value(0).toString();
    r.deviceId = q.value(1).toString();
    r.environment = q.value(2).toString();
    r.chipUid = q.value(3).toString();
    r.state = q.value(4).toString();
    r.certificateDer = q.value(5).toByteArray();
    r.registeredBy = q.value(6).toString();
    r.createdAt = q.value(7).toString();
    r.bootstrappedAt = q.value(8).toString();
    return r;
}

Result<QSqlQuery> run(const QString& connection, const QString& sql, const QVariantList& values) {
    QSqlQuery q(QSqlDatabase::database(connection));
    q.setForwardOnly(true);
    if (!q.prepare(sql))
        return sqlError(QStringLiteral("prepare"), q.lastError());
    for (const QVariant& v : values)
        q.addBindValue(v);
    if (!q.exec())
        return sqlError(QStringLiteral("execute"), q.lastError());
    return q;
}

} // namespace

QByteArray certificateSha256(const DeviceRecord& record) {
    return QCryptographicHash::hash(record.certificateDer, QCryptographicHash::Sha256);
}

QJsonObject toJson(const DeviceRecord& record) {
    // PEM as OpenSSL writes it: base64 in lines of 64, so tools that insist on it accept it.
    const QByteArray base64 = record.certificateDer.toBase64();
    QByteArray pem = "-----BEGIN CERTIFICATE-----\n";
    for (qsizetype i = 0; i < base64.size(); i += 64)
        pem += base64.mid(i, 64) + '\n';
    pem += "-----END CERTIFICATE-----\n";
    QJsonObject o{
        {QStringLiteral("deviceId"), record.deviceId},
        {QStringLiteral("customerId"), record.customerId},
        {QStringLiteral("environment"), record.environment},
        {QStringLiteral("chipUid"), record.chipUid},
        {QStringLiteral("state"), record.state},
        {QStringLiteral("certificate"), QString::fromLatin1(pem)},
        {QStringLiteral("certificateSha256"),
         QString::fromLatin1(certificateSha256(record).toHex())},
        {QStringLiteral("registeredBy"), record.registeredBy},
        {QStringLiteral("createdAt"), record.createdAt},
    };
    if (!record.bootstrappedAt.isEmpty())
        o.insert(QStringLiteral("bootstrappedAt"), record.bootstrappedAt);
    return o;
}

RegistryStore::RegistryStore(QString connectionName)
    : m_connectionName(std::move(connectionName)) {}

RegistryStore::~RegistryStore() {
    QSqlDatabase::database(m_connectionName, false).close();
    QSqlDatabase::removeDatabase(m_connectionName);
}

Result<std::unique_ptr<RegistryStore>> RegistryStore::open(const QString& path) {
    if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QSQLITE")))
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("the Qt SQLite driver is missing: install libqt6sql6-sqlite"));
    QDir().mkpath(QFileInfo(path).absolutePath());
    const QString name = QStringLiteral("keyline-registry-") + QUuid::createUuid().toString();
    std::unique_ptr<RegistryStore> store(new RegistryStore(name));
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
    db.setDatabaseName(path);
    db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000"));
    if (!db.open())
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("cannot open %1: %2").arg(path, db.lastError().text()));
    for (const QString& sql :
         {QStringLiteral("PRAGMA journal_mode=WAL"), QStringLiteral("PRAGMA synchronous=FULL"),
          QStringLiteral("CREATE TABLE IF NOT EXISTS devices ("
                         " customer_id TEXT NOT NULL, device_id TEXT NOT NULL,"
                         " environment TEXT NOT NULL CHECK (environment IN ('dev','prod')),"
                         " chip_uid TEXT NOT NULL,"
                         " state TEXT NOT NULL CHECK (state IN ('created','bootstrapped')),"
                         " certificate BLOB NOT NULL, registered_by TEXT NOT NULL,"
                         " created_at TEXT NOT NULL, bootstrapped_at TEXT,"
                         " PRIMARY KEY (customer_id, device_id))")}) {
        auto done = run(name, sql, {});
        if (!done)
            return Error(ErrorCode::EnvironmentNotReady,
                         QStringLiteral("%1 is not a usable registry database: %2")
                             .arg(path, done.error().message()));
    }
    return store;
}

Result<std::optional<DeviceRecord>> RegistryStore::find(const QString& customer,
                                                        const QString& device) {
    KL_TRY_ASSIGN(QSqlQuery q,
                  run(m_connectionName,
                      QStringLiteral("SELECT %1 FROM devices WHERE customer_id = ? AND "
                                     "device_id = ?")
                          .arg(kColumns),
                      {customer, device}));
    if (!q.next())
        return std::optional<DeviceRecord>();
    return std::optional<DeviceRecord>(recordFrom(q));
}

Result<QList<DeviceRecord>> RegistryStore::list(const QString& customer, const QString& state) {
    QString sql = QStringLiteral("SELECT %1 FROM devices WHERE customer_id = ?").arg(kColumns);
    QVariantList values{customer};
    if (!state.isEmpty()) {
        sql += QStringLiteral(" AND state = ?");
        values.append(state);
    }
    sql += QStringLiteral(" ORDER BY device_id");
    KL_TRY_ASSIGN(QSqlQuery q, run(m_connectionName, sql, values));
    QList<DeviceRecord> out;
    while (q.next())
        out.append(recordFrom(q));
    return out;
}

Result<void> RegistryStore::insert(const DeviceRecord& r) {
    KL_TRY(run(m_connectionName,
               QStringLiteral("INSERT INTO devices (%1) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)")
                   .arg(kColumns),
               {r.customerId, r.deviceId, r.environment, r.chipUid, r.state, r.certificateDer,
                r.registeredBy, r.createdAt}));
    return success();
}

Result<void> RegistryStore::markBootstrapped(const QString& customer, const QString& device,
                                             const QString& at) {
    KL_TRY(run(m_connectionName,
               QStringLiteral("UPDATE devices SET state = 'bootstrapped', bootstrapped_at = ? "
                              "WHERE customer_id = ? AND device_id = ? AND state = 'created'"),
               {at, customer, device}));
    return success();
}

} // namespace keyline::registry
