#pragma once

// The station's records, passed through unchanged, noting per port what the GUI needs to
// advise the worker: a scrapped device, a rejected chip, a record that could not be written
// (database trouble), an order with no unit left.

#include "provisioning/records.h"
#include "ui/run_observations.h"

namespace keyline::ui {

class ObservedRecords final : public provisioning::ProvisioningRecords {
public:
    ObservedRecords(provisioning::ProvisioningRecords& inner, RunObservations& observations)
        : m_inner(inner)
        , m_seen(observations) {}

    Result<provisioning::DeviceAssignment> assign(const QByteArray& chipUid,
                                                  const QString& port) override;
    Result<void> recordStep(const provisioning::StepRecord& record) override;
    Result<std::optional<QByteArray>> issuedCertificate(const QString& deviceId) override;
    Result<void> checkCanIssue(const QString& deviceId) override;
    Result<void> recordCertificate(const provisioning::CertificateRecord& record) override;
    Result<void> markProvisioned(const QString& deviceId) override;
    Result<void> markFailed(const QString& deviceId, provisioning::Step step, const QString& reason,
                            bool scrap) override;
    Result<void> recordRejectedChip(const QByteArray& chipUid, const QString& port,
                                    const QString& reason) override;

private:
    template <typename T>
    Result<T> noted(const QString& deviceId, Result<T> result);

    provisioning::ProvisioningRecords& m_inner;
    RunObservations& m_seen;
};

} // namespace keyline::ui
