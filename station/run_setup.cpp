#include "station/run_setup.h"

#include "common/ossl_ptr.h"
#include "db/audit_log.h"
#include "db/timestamp.h"
#include "station/order_check.h"

#include <QJsonObject>
#include <openssl/x509.h>

namespace keyline::station {
namespace {

Result<std::unique_ptr<hsm::IssuingCa>> openCa(hsm::Hsm& hsm, const hsm::KeyUri& key) {
    KL_TRY_ASSIGN(std::shared_ptr<Signer> signer, hsm.signer(key));
    hsm::KeyUri certUri = key;
    certUri.type = QStringLiteral("cert");
    KL_TRY_ASSIGN(const QByteArray caDer, hsm.certificate(certUri));
    return hsm::IssuingCa::create(std::move(signer), caDer);
}

std::optional<QDateTime> asnTime(const ASN1_TIME* t) {
    tm parts{};
    if (!t || ASN1_TIME_to_tm(t, &parts) != 1)
        return std::nullopt;
    return QDateTime(QDate(parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday),
                     QTime(parts.tm_hour, parts.tm_min, parts.tm_sec), Qt::UTC);
}

Error clockRefused(const QDateTime& now, const QString& why) {
    return Error(ErrorCode::EnvironmentNotReady,
                 QStringLiteral("the station clock says %1, %2: set the clock (timedatectl, NTP), "
                                "then run again")
                     .arg(db::toTimestamp(now), why));
}

} // namespace

Result<void> checkStationClock(const QDateTime& now, const QByteArray& caCertificateDer,
                               const QString& newestAuditTime) {
    const auto* p = reinterpret_cast<const unsigned char*>(caCertificateDer.constData());
    OsslPtr<X509, X509_free> ca(d2i_X509(nullptr, &p, long(caCertificateDer.size())));
    const auto notBefore = asnTime(ca ? X509_get0_notBefore(ca.get()) : nullptr);
    const auto notAfter = asnTime(ca ? X509_get0_notAfter(ca.get()) : nullptr);
    if (!notBefore || !notAfter)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("the issuing CA certificate on the token has no readable "
                                    "validity period: check the token (keyline hsm keys)"));
    if (now < *notBefore)
        return clockRefused(now, QStringLiteral("before the issuing CA certificate is valid "
                                                "(from %1)")
                                     .arg(db::toTimestamp(*notBefore)));
    if (now > *notAfter)
        return clockRefused(now, QStringLiteral("after the issuing CA certificate expired (%1); "
                                                "if the clock is right, renew the issuing CA "
                                                "(docs/key-inventory.md)")
                                     .arg(db::toTimestamp(*notAfter)));
    if (!newestAuditTime.isEmpty()) {
        const QDateTime newest = db::fromTimestamp(newestAuditTime);
        if (newest.isValid() && now < newest)
            return clockRefused(now, QStringLiteral("earlier than this station's newest audit "
                                                    "entry (%1): the audit log's times would go "
                                                    "backwards (if the clock had run ahead and "
                                                    "is right now, a supervisor records that "
                                                    "with keyline audit clock-set-back)")
                                         .arg(newestAuditTime));
    }
    return success();
}

Result<std::unique_ptr<RunSetup>> prepareRun(const StationContext& context, const db::Order& order,
                                             const QString& operatorName,
                                             metrics::LineMetrics* metrics) {
    if (order.state != db::OrderState::Open)
        return Error(ErrorCode::Refused, QStringLiteral("order %1 is closed").arg(order.id));
    const StationConfig& config = context.config();
    auto s = std::make_unique<RunSetup>();
    s->order = order;
    KL_TRY_ASSIGN(s->plan, loadOrderPlan(context, order));
    KL_TRY_ASSIGN(s->hsm, context.openHsm());
    hsm::Hsm* engineHsm = s->hsm.get();
    if (metrics) {
        s->meteredHsm = std::make_unique<metrics::MeteredHsm>(*s->hsm, metrics->hsmLatency());
        engineHsm = s->meteredHsm.get();
    }
    KL_TRY_ASSIGN(s->ca, openCa(*engineHsm, config.issuingCaKey));
    {
        // Before anything is recorded: a refused run must not leave an entry at a wrong time.
        KL_TRY_ASSIGN(const std::unique_ptr<db::Database> database, context.openDatabase());
        KL_TRY_ASSIGN(const QString newest,
                      db::AuditLog(*database, config.stationName).lastEntryTime());
        KL_TRY(
            checkStationClock(QDateTime::currentDateTimeUtc(), s->ca->caCertificateDer(), newest));
    }
    KL_TRY_ASSIGN(const QByteArray kcv, engineHsm->keyCheckValue(config.imageKey));
    KL_TRY_ASSIGN(provisioning::ChipAuthenticator chips, context.chipAuthenticator());
    s->chips.emplace(std::move(chips));
    KL_TRY_ASSIGN(const db::DatabaseOptions dbOptions, context.databaseOptions());
    KL_TRY_ASSIGN(s->writer, provisioning::RecordWriter::start(dbOptions));
    s->records = std::make_unique<provisioning::DbRecords>(
        *s->writer, provisioning::RecordsIdentity{order.id, config.stationName, operatorName});
    s->services = std::make_unique<provisioning::StationServices>(
        provisioning::StationServices{*s->chips, *engineHsm, *s->ca, config.imageKey, kcv});
    return s;
}

Result<void> recordRunFinished(provisioning::DbRecords& records,
                               const provisioning::RunSummary& summary) {
    return records.audit(
        QStringLiteral("run.finished"),
        QJsonObject{{QStringLiteral("passed"), summary.passed},
                    {QStringLiteral("failed"), summary.failed},
                    {QStringLiteral("alreadyProvisioned"), summary.alreadyProvisioned},
                    {QStringLiteral("stopReason"), summary.stopReason}});
}

} // namespace keyline::station
