#include "provisioning/device_job.h"

#include "flashing/flash_writer.h"
#include "hsm/ec_util.h"
#include "provisioning/boot_check.h"
#include "provisioning/certificate_step.h"
#include "provisioning/chip_check_step.h"
#include "provisioning/keystore_step.h"
#include "provisioning/otp_key_step.h"

#include <QElapsedTimer>

namespace keyline::provisioning {

namespace {

// The 65-byte point of a P-256 SubjectPublicKeyInfo (its fixed 26-byte prefix checked).
QByteArray pointOfSpki(const QByteArray& spki) {
    if (spki.size() != 91)
        return {};
    const QByteArray point = spki.right(65);
    return hsm::p256SpkiFromPoint(point) == spki ? point : QByteArray();
}

// Failures that must take the device off the line for good rather than wait for a re-plug.
// A full order is not the device's fault: it stays unprovisioned, not scrapped.
bool scraps(const Error& e) {
    return e.code() == ErrorCode::Refused && e.detail() != kOrderCompleteDetail;
}

JobEvent event(JobEventKind kind, const QString& deviceId = {}, const QByteArray& chipUid = {},
               std::optional<Step> step = {}) {
    JobEvent e;
    e.kind = kind;
    e.deviceId = deviceId;
    e.chipUid = chipUid;
    e.step = step;
    return e;
}

} // namespace

DeviceJob::DeviceJob(const OrderPlan& plan, const StationServices& services,
                     ProvisioningRecords& records, JobEventFn events)
    : m_plan(plan)
    , m_services(services)
    , m_records(records)
    , m_events(std::move(events)) {}

void DeviceJob::emitEvent(JobEvent event) const {
    if (!m_events)
        return;
    event.port = m_port;
    m_events(event);
}

DeviceResult DeviceJob::run(flashing::DeviceClient& device, const std::atomic<bool>* cancel) {
    QElapsedTimer timer;
    timer.start();
    m_port = device.port().endpoint;
    DeviceResult result;
    result.port = m_port;
    emitEvent(event(JobEventKind::Started));
    auto finish = [&](DeviceResult r) {
        r.milliseconds = timer.elapsed();
        JobEvent e = event(JobEventKind::Finished);
        e.deviceId = r.deviceId;
        e.chipUid = r.chipUid;
        e.step = r.failedStep;
        e.ok = r.pass;
        e.errorCode = r.errorCode;
        e.alreadyProvisioned = r.alreadyProvisioned;
        e.detail = r.pass ? (r.alreadyProvisioned ? QStringLiteral("already provisioned")
                                                  : QStringLiteral("provisioned"))
                          : r.reason;
        emitEvent(e);
        return r;
    };
    auto fail = [&](DeviceResult r, Step step, const Error& error) {
        r.failedStep = step;
        r.reason = error.toString();
        r.errorCode = error.code();
        r.errorDetail = error.detail();
        return finish(std::move(r));
    };

    // Step 1: nothing is sent to a chip, and no ID is spent on it, before it proves genuine.
    emitEvent(event(JobEventKind::StepStarted, {}, {}, Step::ChipCheck));
    auto chip = authenticateChip(device, m_services.chips);
    if (!chip) {
        if (chip.error().code() == ErrorCode::VerificationFailed) {
            auto uid = device.identify();
            result.chipUid = uid ? uid->chipUid : QByteArray();
            if (auto audited =
                    m_records.recordRejectedChip(result.chipUid, m_port, chip.error().toString());
                !audited)
                return fail(std::move(result), Step::ChipCheck, audited.error());
        }
        return fail(std::move(result), Step::ChipCheck, chip.error());
    }
    result.chipUid = chip->chipUid;
    auto assigned = m_records.assign(chip->chipUid, m_port);
    if (!assigned)
        return fail(std::move(result), Step::ChipCheck, assigned.error());
    result.deviceId = assigned->deviceId;
    { emitEvent(event(JobEventKind::Assigned, result.deviceId, result.chipUid)); }
    if (assigned->provisioned) {
        result.pass = true;
        result.alreadyProvisioned = true;
        return finish(std::move(result));
    }
    if (assigned->scrapped) {
        result.scrapped = true;
        return fail(std::move(result), Step::ChipCheck,
                    Error(ErrorCode::Refused, QStringLiteral("device %1 was scrapped: %2")
                                                  .arg(assigned->deviceId, assigned->failure)));
    }
    const QString genuine =
        QStringLiteral("genuine, chip certificate from %1").arg(chip->certificateIssuer);
    if (auto recorded = m_records.recordStep({result.deviceId, Step::ChipCheck, true, genuine});
        !recorded)
        return fail(std::move(result), Step::ChipCheck, recorded.error());
    {
        JobEvent e =
            event(JobEventKind::StepDone, result.deviceId, result.chipUid, Step::ChipCheck);
        e.detail = genuine;
        emitEvent(e);
    }

    // A device locked in an earlier attempt whose end was not recorded (the station stopped
    // between the lock and its record) refuses provisioning commands: it is only verified.
    auto info = device.identify();
    if (!info)
        return fail(std::move(result), Step::OtpKey, info.error());
    const bool lockedEarlier = info->lifecycle == protocol::Lifecycle::Locked;

    for (Step step : kAllSteps) {
        if (step == Step::ChipCheck || (lockedEarlier && step < Step::Verify))
            continue;
        if (cancel && cancel->load()) {
            const Error cancelled(ErrorCode::Refused, QStringLiteral("the run was cancelled"));
            return fail(std::move(result), step, cancelled.withContext(stepName(step)));
        }
        emitEvent(event(JobEventKind::StepStarted, result.deviceId, result.chipUid, step));
        auto done = runStep(step, device, *chip, result.deviceId, cancel);
        if (!done) {
            // A cancelled run is not the device's fault: nothing is marked, re-plugging
            // continues.
            const bool cancelled = cancel && cancel->load();
            const bool scrap = !cancelled && scraps(done.error());
            if (!cancelled)
                if (auto marked =
                        m_records.markFailed(result.deviceId, step, done.error().toString(), scrap);
                    !marked)
                    return fail(std::move(result), step, marked.error());
            result.scrapped = scrap;
            return fail(std::move(result), step, done.error());
        }
        if (auto recorded = m_records.recordStep({result.deviceId, step, true, *done}); !recorded)
            return fail(std::move(result), step, recorded.error());
        JobEvent e = event(JobEventKind::StepDone, result.deviceId, result.chipUid, step);
        e.detail = *done;
        emitEvent(e);
    }
    if (auto marked = m_records.markProvisioned(result.deviceId); !marked)
        return fail(std::move(result), Step::Lock, marked.error());
    result.pass = true;
    return finish(std::move(result));
}

Result<QString> DeviceJob::runStep(Step step, flashing::DeviceClient& device,
                                   const GenuineChip& chip, const QString& deviceId,
                                   const std::atomic<bool>* cancel) {
    switch (step) {
    case Step::ChipCheck:
        return QStringLiteral("genuine");
    case Step::OtpKey: {
        const OtpKeyStep otp(m_services.chips, m_services.hsm, m_services.imageKey);
        KL_TRY_ASSIGN(const OtpKeyOutcome outcome, otp.ensure(device, chip));
        return QStringLiteral("%1, KCV %2")
            .arg(outcome.burnedNow ? QStringLiteral("burned") : QStringLiteral("already held"),
                 QString::fromLatin1(outcome.keyCheckValue.toHex()));
    }
    case Step::Keystore:
        return ensureKeystore(device, m_plan.keystore, m_plan.keystoreSha256);
    case Step::Certificate: {
        const CertificateStep certificates(m_services.ca, m_plan.certificateProfile);
        KL_TRY_ASSIGN(const CertificateOutcome outcome,
                      certificates.ensure(device, deviceId, chip.chipUid, m_records));
        m_certificate = outcome.certificate;
        m_devicePublicKey = outcome.publicKeySpki;
        return outcome.issuedNow ? QStringLiteral("issued") : QStringLiteral("issued earlier");
    }
    case Step::Flash:
        return flash(device, deviceId, cancel);
    case Step::Verify:
        return verify(device, chip, deviceId);
    case Step::Lock:
        return lock(device);
    }
    return Error(ErrorCode::Internal, QStringLiteral("unknown step"));
}

Result<QString> DeviceJob::flash(flashing::DeviceClient& device, const QString& deviceId,
                                 const std::atomic<bool>* cancel) {
    KL_TRY_ASSIGN(const protocol::IdentifyInfo info, device.identify());
    flashing::FlashWriter writer(device);
    int lastPercent = -1;
    auto progress = [&](std::uint64_t done, std::uint64_t total) {
        const int percent = total ? int(done * 100 / total) : 100;
        if (percent / 5 == lastPercent / 5)
            return;
        lastPercent = percent;
        JobEvent e = event(JobEventKind::FlashProgress, deviceId, {}, Step::Flash);
        e.fraction = percent / 100.0;
        emitEvent(e);
    };
    KL_TRY(writer.write(m_plan.package, info.maxChunk, progress, cancel));
    return writer.bytesSent() == 0
               ? QStringLiteral("already installed")
               : QStringLiteral("%1 bytes sent, installed").arg(writer.bytesSent());
}

Result<QString> DeviceJob::verify(flashing::DeviceClient& device, const GenuineChip& chip,
                                  const QString& deviceId) {
    if (m_certificate.isEmpty()) {
        KL_TRY_ASSIGN(const std::optional<QByteArray> recorded,
                      m_records.issuedCertificate(deviceId));
        if (!recorded)
            return Error(ErrorCode::Internal,
                         QStringLiteral("no certificate is recorded for %1").arg(deviceId));
        m_certificate = *recorded;
    }
    BootExpectation expected;
    expected.nonce = freshNonce();
    expected.chipUid = chip.chipUid;
    // The certificate step already holds the key; a job resumed after it reads the certificate.
    expected.devicePoint = pointOfSpki(
        m_devicePublicKey.isEmpty() ? certificatePublicKey(m_certificate) : m_devicePublicKey);
    expected.keystoreSha256 = m_plan.keystoreSha256;
    expected.otpKeyCheck = m_services.imageKeyCheckValue;
    expected.package = &m_plan.expected;
    KL_TRY_ASSIGN(const protocol::BootReportResponse answer, device.bootReport(expected.nonce));
    KL_TRY_ASSIGN(const protocol::BootReport report, checkBootReport(answer, expected));
    return QStringLiteral("booted OS %1, application %2").arg(report.osVersion, report.appVersion);
}

Result<QString> DeviceJob::lock(flashing::DeviceClient& device) {
    KL_TRY_ASSIGN(const protocol::IdentifyInfo info, device.identify());
    if (info.lifecycle == protocol::Lifecycle::Locked)
        return QStringLiteral("already locked");
    KL_TRY(device.factoryLock());
    return QStringLiteral("locked");
}

} // namespace keyline::provisioning
