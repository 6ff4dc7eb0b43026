#pragma once

// What `keyline run` builds before the first device, as one owned bundle the GUI can build the
// same way: the order's checked plan, the HSM with its issuing CA and the image key's KCV, the
// chip trust anchors, the database writer and the records (DESIGN.md §2: the CLI and the GUI
// share one engine). The order of the steps and their errors are those of run_command.cpp.

#include "db/order_repository.h"
#include "hsm/issuing_ca.h"
#include "metrics/line_metrics.h"
#include "provisioning/db_records.h"
#include "provisioning/device_job.h"
#include "provisioning/production_run.h"
#include "provisioning/record_writer.h"
#include "station/station_context.h"

#include <memory>
#include <optional>

namespace keyline::station {

// Members are declared in dependency order: what refers to another part is destroyed first
// (services before the CA and the HSM, records before the writer).
struct RunSetup {
    db::Order order;
    provisioning::OrderPlan plan;
    std::unique_ptr<hsm::Pkcs11Hsm> hsm;
    std::unique_ptr<metrics::MeteredHsm> meteredHsm; // the engine's HSM when metrics are on
    std::unique_ptr<hsm::IssuingCa> ca;
    std::optional<provisioning::ChipAuthenticator> chips;
    std::unique_ptr<provisioning::RecordWriter> writer;
    std::unique_ptr<provisioning::DbRecords> records;
    std::unique_ptr<provisioning::StationServices> services;
};

// Loads the plan of an open `order`, opens the HSM (one per process: nothing else may hold it
// while the bundle lives), the issuing CA, the KCV, the chip roots and the record writer.
// `operatorName` is who the records name. With `metrics`, which must outlive the bundle, the
// engine's HSM calls are timed into it. Errors are the ones `keyline run` prints.
Result<std::unique_ptr<RunSetup>> prepareRun(const StationContext& context, const db::Order& order,
                                             const QString& operatorName,
                                             metrics::LineMetrics* metrics = nullptr);

// A clock a factory cannot issue certificates by, refused (EnvironmentNotReady, exit 3) before
// a run records anything: `now` before the issuing CA's notBefore (every certificate would be
// "not yet valid") or after its notAfter, or earlier than this station's newest audit entry
// (`newestAuditTime`, empty for none), which would make the audit log's times go backwards.
Result<void> checkStationClock(const QDateTime& now, const QByteArray& caCertificateDer,
                               const QString& newestAuditTime);

// The "run.finished" audit entry, the same whether `keyline run` or the GUI ran the order.
Result<void> recordRunFinished(provisioning::DbRecords& records,
                               const provisioning::RunSummary& summary);

} // namespace keyline::station
