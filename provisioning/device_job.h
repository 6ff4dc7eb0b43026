#pragma once

// One device, start to finish: the plan of DESIGN.md §1 on one connection, each step recorded
// before the next starts, progress reported as events that the CLI and the GUI both consume.

#include "hsm/hsm.h"
#include "provisioning/chip_authenticator.h"
#include "provisioning/order_plan.h"
#include "provisioning/records.h"

#include <atomic>
#include <functional>
#include <optional>

namespace keyline::provisioning {

// The station's side of a run, shared by every slot. Thread-safe parts only.
struct StationServices {
    const ChipAuthenticator& chips;
    hsm::Hsm& hsm;
    const hsm::IssuingCa& ca;
    hsm::KeyUri imageKey;
    QByteArray imageKeyCheckValue; // the HSM's KCV of the image key, read once per run
};

enum class JobEventKind { Started, Assigned, StepStarted, StepDone, FlashProgress, Finished };

struct JobEvent {
    JobEventKind kind = JobEventKind::Started;
    QString port;
    QString deviceId; // empty until assigned
    QByteArray chipUid;
    std::optional<Step> step;
    bool ok = true;
    QString detail;        // what a step did or why it failed
    double fraction = 0.0; // FlashProgress: 0…1
    // Finished: the kind of failure and whether the device was done before this attempt, so
    // observers (line metrics) can count without parsing `detail`.
    std::optional<ErrorCode> errorCode;
    bool alreadyProvisioned = false;
};
using JobEventFn = std::function<void(const JobEvent&)>;

struct DeviceResult {
    QString port;
    QString deviceId;
    QByteArray chipUid;
    bool pass = false;
    bool alreadyProvisioned = false; // nothing was left to do
    bool scrapped = false;
    std::optional<Step> failedStep;
    QString reason; // why it failed, for the report
    std::optional<ErrorCode> errorCode;
    int errorDetail = 0; // Error::detail() of the failure
    qint64 milliseconds = 0;
};

// One job per device and attempt; not reusable.
class DeviceJob {
public:
    DeviceJob(const OrderPlan& plan, const StationServices& services, ProvisioningRecords& records,
              JobEventFn events);

    DeviceResult run(flashing::DeviceClient& device, const std::atomic<bool>* cancel = nullptr);

private:
    Result<QString> runStep(Step step, flashing::DeviceClient& device, const GenuineChip& chip,
                            const QString& deviceId, const std::atomic<bool>* cancel);
    Result<QString> flash(flashing::DeviceClient& device, const QString& deviceId,
                          const std::atomic<bool>* cancel);
    Result<QString> verify(flashing::DeviceClient& device, const GenuineChip& chip,
                           const QString& deviceId);
    Result<QString> lock(flashing::DeviceClient& device);
    void emitEvent(JobEvent event) const;

    const OrderPlan& m_plan;
    const StationServices& m_services;
    ProvisioningRecords& m_records;
    JobEventFn m_events;
    QString m_port;
    QByteArray m_certificate;     // the device's leaf, known after the certificate step
    QByteArray m_devicePublicKey; // its SubjectPublicKeyInfo, from the same step
};

} // namespace keyline::provisioning
