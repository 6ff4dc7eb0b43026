#include "ui/observed_records.h"

namespace keyline::ui {

template <typename T>
Result<T> ObservedRecords::noted(const QString& deviceId, Result<T> result) {
    if (!result)
        m_seen.noteFailure(m_seen.portOf(deviceId), result.error());
    return result;
}

Result<provisioning::DeviceAssignment> ObservedRecords::assign(const QByteArray& chipUid,
                                                               const QString& port) {
    auto assigned = m_inner.assign(chipUid, port);
    if (!assigned) {
        m_seen.noteFailure(port, assigned.error());
        return assigned;
    }
    m_seen.noteDevice(assigned->deviceId, port);
    if (assigned->scrapped)
        m_seen.noteScrapped(port);
    return assigned;
}

Result<void> ObservedRecords::recordStep(const provisioning::StepRecord& record) {
    return noted(record.deviceId, m_inner.recordStep(record));
}

Result<std::optional<QByteArray>> ObservedRecords::issuedCertificate(const QString& deviceId) {
    return noted(deviceId, m_inner.issuedCertificate(deviceId));
}

Result<void> ObservedRecords::checkCanIssue(const QString& deviceId) {
    return noted(deviceId, m_inner.checkCanIssue(deviceId));
}

Result<void> ObservedRecords::recordCertificate(const provisioning::CertificateRecord& record) {
    return noted(record.deviceId, m_inner.recordCertificate(record));
}

Result<void> ObservedRecords::markProvisioned(const QString& deviceId) {
    return noted(deviceId, m_inner.markProvisioned(deviceId));
}

Result<void> ObservedRecords::markFailed(const QString& deviceId, provisioning::Step step,
                                         const QString& reason, bool scrap) {
    if (scrap)
        m_seen.noteScrapped(m_seen.portOf(deviceId));
    return noted(deviceId, m_inner.markFailed(deviceId, step, reason, scrap));
}

Result<void> ObservedRecords::recordRejectedChip(const QByteArray& chipUid, const QString& port,
                                                 const QString& reason) {
    m_seen.noteRejectedChip(port);
    auto recorded = m_inner.recordRejectedChip(chipUid, port, reason);
    if (!recorded)
        m_seen.noteFailure(port, recorded.error());
    return recorded;
}

} // namespace keyline::ui
