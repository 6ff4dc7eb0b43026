#include "station/run_setup.h"

#include "station/order_check.h"

#include <QJsonObject>

namespace keyline::station {
namespace {

Result<std::unique_ptr<hsm::IssuingCa>> openCa(hsm::Hsm& hsm, const hsm::KeyUri& key) {
    KL_TRY_ASSIGN(std::shared_ptr<Signer> signer, hsm.signer(key));
    hsm::KeyUri certUri = key;
    certUri.type = QStringLiteral("cert");
    KL_TRY_ASSIGN(const QByteArray caDer, hsm.certificate(certUri));
    return hsm::IssuingCa::create(std::move(signer), caDer);
}

} // namespace

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
