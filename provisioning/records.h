#pragma once

// What the engine records, and where it reads back what it recorded: the seam between the
// engine and the database (db/ implements it in provisioning/db_records.*). Every call is
// durable when it returns — the engine starts the next step only after the last one's result
// is committed (DESIGN.md §5) — and is safe to call from several slots at once.

#include "common/result.h"
#include "provisioning/steps.h"

#include <QByteArray>
#include <QString>
#include <optional>

namespace keyline::provisioning {

// Error::detail() of a Refused from assign() or recordCertificate() when the order has no
// device ID or certificate left: the run stops, the order is complete.
inline constexpr int kOrderCompleteDetail = 0x4f43;

struct DeviceAssignment {
    QString deviceId;
    bool provisioned = false; // finished earlier: nothing left to do
    bool scrapped = false;    // taken off the line for good
    QString failure;          // why, when scrapped
};

struct StepRecord {
    QString deviceId;
    Step step;
    bool ok = true;
    QString detail; // what was done ("burned", "already held"), or why it failed
};

struct CertificateRecord {
    QString deviceId;
    QString serialHex;
    QByteArray der;
    QByteArray publicKeySpki; // DER SubjectPublicKeyInfo of the device key
    // The back-end registration (docs/backend-api.md), queued in the same transaction.
    QByteArray registration;
};

class ProvisioningRecords {
public:
    virtual ~ProvisioningRecords() = default;

    // The device ID this chip has in the order, allocated on first sight. Refused when the
    // chip belongs to another order, the order is closed or all its IDs are used.
    virtual Result<DeviceAssignment> assign(const QByteArray& chipUid, const QString& port) = 0;

    virtual Result<void> recordStep(const StepRecord& record) = 0;

    // The certificate issued to this device, if any (DER).
    virtual Result<std::optional<QByteArray>> issuedCertificate(const QString& deviceId) = 0;

    // Refuses before the HSM signs: a certificate exists for the device, or the order's
    // quantity of certificates is reached.
    virtual Result<void> checkCanIssue(const QString& deviceId) = 0;

    // In one transaction: the key was never seen before (a repeated key is refused: broken
    // device RNGs exist), at most one certificate per device, never more than the quantity,
    // the registration queued in the outbox, the audit entry. Only after this returns may the
    // certificate leave the station.
    virtual Result<void> recordCertificate(const CertificateRecord& record) = 0;

    virtual Result<void> markProvisioned(const QString& deviceId) = 0;
    // `scrap`: the device leaves the line for good (its OTP holds another key, it changed its
    // certified key, ...); otherwise re-plugging it continues where it stopped.
    virtual Result<void> markFailed(const QString& deviceId, Step step, const QString& reason,
                                    bool scrap) = 0;
    // A chip that never got a device ID (not genuine, or refused before assignment): audited.
    virtual Result<void> recordRejectedChip(const QByteArray& chipUid, const QString& port,
                                            const QString& reason) = 0;
};

} // namespace keyline::provisioning
