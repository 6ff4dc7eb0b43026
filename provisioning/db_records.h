#pragma once

// ProvisioningRecords on the station database (db/): every call a transaction on the one writer
// thread, each state change committed together with its audit entry.

#include "provisioning/record_writer.h"
#include "provisioning/records.h"

#include <QJsonObject>

namespace keyline::provisioning {

struct RecordsIdentity {
    QString orderId;
    QString stationId;    // [station] id: names the station in the audit log
    QString operatorName; // who runs the order (logged in, --operator or the service account)
};

class DbRecords final : public ProvisioningRecords {
public:
    DbRecords(RecordWriter& writer, RecordsIdentity identity);

    Result<DeviceAssignment> assign(const QByteArray& chipUid, const QString& port) override;
    Result<void> recordStep(const StepRecord& record) override;
    Result<std::optional<QByteArray>> issuedCertificate(const QString& deviceId) override;
    Result<void> checkCanIssue(const QString& deviceId) override;
    Result<void> recordCertificate(const CertificateRecord& record) override;
    Result<void> markProvisioned(const QString& deviceId) override;
    Result<void> markFailed(const QString& deviceId, Step step, const QString& reason,
                            bool scrap) override;
    Result<void> recordRejectedChip(const QByteArray& chipUid, const QString& port,
                                    const QString& reason) override;

    // A station-level audit entry for this order (a run started or ended), through the writer.
    Result<void> audit(const QString& event, const QJsonObject& details);

    // Registrations still waiting in the outbox (all orders): for the run report.
    Result<int> pendingRegistrations();

private:
    RecordWriter& m_writer;
    RecordsIdentity m_identity;
};

} // namespace keyline::provisioning
