#include "sim/device.h"

#include "flashing/payload.h"

#include <QDir>
#include <QFile>

namespace keyline::sim {

using namespace keyline::protocol;

namespace {

constexpr const char* kBootRomVersion = "bootrom-sim-1.0";

} // namespace

Reply unexpectedPayload(Command command, const QByteArray& payload) {
    return Reply::refuse(DeviceError::MalformedRequest,
                         QStringLiteral("%1 request: %2 unexpected bytes after the last field")
                             .arg(commandName(command))
                             .arg(payload.size()));
}

Reply malformed(const Error& error) {
    return Reply::refuse(DeviceError::MalformedRequest, error.message());
}

Reply storageFailure(const Error& error) {
    return Reply::refuse(DeviceError::StorageFailure, error.message());
}

Result<std::unique_ptr<VirtualDevice>> VirtualDevice::open(DeviceStore store, Config config) {
    KL_TRY_ASSIGN(DeviceState state, store.loadState());
    KL_TRY_ASSIGN(FlashRecord flash, store.loadFlash());
    std::unique_ptr<VirtualDevice> device(
        new VirtualDevice(std::move(store), config, std::move(state), std::move(flash)));
    KL_TRY_ASSIGN(device->m_chipKey, ossl::loadPrivateKeyPem(device->m_state.chipKeyPem));
    if (!device->m_state.deviceKeyPem.isEmpty()) {
        KL_TRY_ASSIGN(device->m_deviceKey, ossl::loadPrivateKeyPem(device->m_state.deviceKeyPem));
    }
    return device;
}

Result<std::unique_ptr<VirtualDevice>> VirtualDevice::manufacture(DeviceStore store, Config config,
                                                                  DeviceState state,
                                                                  ossl::Pkey chipKey) {
    if (!QDir().mkpath(store.directory()))
        return Error(ErrorCode::Io, QStringLiteral("cannot create %1").arg(store.directory()));
    KL_TRY(store.saveState(state));
    // Opened from what was just saved, not read back: a new device has no flash record yet.
    std::unique_ptr<VirtualDevice> device(
        new VirtualDevice(std::move(store), config, std::move(state), FlashRecord{}));
    device->m_chipKey = std::move(chipKey);
    return device;
}

VirtualDevice::VirtualDevice(DeviceStore store, Config config, DeviceState state, FlashRecord flash)
    : m_store(std::move(store))
    , m_config(config)
    , m_state(std::move(state))
    , m_flash(std::move(flash))
    , m_keystoreVerifier(m_config.vendorKeystoreKey)
    , m_secureBoot(m_config.vendorKeystoreKey, QLatin1String(kSimHardwareRevision))
    , m_receivedOffset(m_flash.durableOffset) {}

VirtualDevice::~VirtualDevice() {
    closeReceivingImage();
}

QByteArray VirtualDevice::chipUid() const {
    std::lock_guard lock(m_mutex);
    return m_state.chipUid;
}

bool VirtualDevice::locked() const {
    std::lock_guard lock(m_mutex);
    return m_state.locked;
}

bool VirtualDevice::faultFired(const QString& key) const {
    std::lock_guard lock(m_mutex);
    return m_state.firedFaults.contains(key);
}

Result<void> VirtualDevice::markFaultFired(const QString& key) {
    std::lock_guard lock(m_mutex);
    if (m_state.firedFaults.contains(key))
        return success();
    DeviceState next = m_state;
    next.firedFaults.append(key);
    return saveState(next);
}

std::uint64_t VirtualDevice::addReceivedBytes(std::uint64_t count) {
    std::lock_guard lock(m_mutex);
    m_bytesReceived += count;
    return m_bytesReceived;
}

int VirtualDevice::nextFlashChunkNumber() {
    std::lock_guard lock(m_mutex);
    return ++m_flashChunks;
}

void VirtualDevice::linkDropped() {
    std::lock_guard lock(m_mutex);
    m_ephemeralKey.reset();
    if (m_flash.transfer == FlashState::Receiving && m_receivedOffset > m_flash.durableOffset) {
        // Best effort: if it fails, flash-begin resumes from the older durable offset.
        [[maybe_unused]] auto flushed = makeReceivedBytesDurable();
    }
    closeReceivingImage();
}

Result<void> VirtualDevice::saveState(const DeviceState& next) {
    KL_TRY(m_store.saveState(next));
    m_state = next;
    return success();
}

std::chrono::microseconds VirtualDevice::usecs(std::chrono::milliseconds ms) const {
    return m_config.timing.enabled ? std::chrono::microseconds(ms) : std::chrono::microseconds(0);
}

std::chrono::microseconds VirtualDevice::bytesAt(double bytesPerSecond, std::uint64_t bytes) const {
    if (!m_config.timing.enabled || bytesPerSecond <= 0)
        return std::chrono::microseconds(0);
    return std::chrono::microseconds(static_cast<long long>(double(bytes) * 1e6 / bytesPerSecond));
}

std::uint32_t VirtualDevice::provisionedFlags() const {
    std::uint32_t flags = 0;
    if (!m_state.otpKey.isEmpty())
        flags |= HasOtpKey;
    if (!m_state.keystore.isEmpty())
        flags |= HasKeystore;
    if (m_deviceKey)
        flags |= HasDeviceKey;
    if (!m_state.certificateChain.isEmpty())
        flags |= HasCertificate;
    if (firmwareInstalled())
        flags |= HasFirmware;
    return flags;
}

Reply VirtualDevice::handle(Command command, const QByteArray& payload) {
    std::lock_guard lock(m_mutex);
    if (m_state.locked && isProvisioningCommand(command))
        return Reply::refuse(DeviceError::Locked,
                             QStringLiteral("%1 is a provisioning command and the device is "
                                            "factory-locked")
                                 .arg(commandName(command)));
    return dispatch(command, payload);
}

Reply VirtualDevice::dispatch(Command command, const QByteArray& payload) {
    switch (command) {
    case Command::Identify:
        return identify(payload);
    case Command::Challenge:
        return challenge(payload);
    case Command::EphemeralKey:
        return ephemeralKey(payload);
    case Command::OtpBurn:
        return otpBurn(payload);
    case Command::OtpStatus:
        return otpStatus(payload);
    case Command::KeystoreWrite:
        return keystoreWrite(payload);
    case Command::KeystoreStatus:
        return keystoreStatus(payload);
    case Command::DeviceKeyGenerate:
        return deviceKeyGenerate(payload);
    case Command::CertificateWrite:
        return certificateWrite(payload);
    case Command::CertificateRead:
        return certificateRead(payload);
    case Command::FlashBegin:
        return flashBegin(payload);
    case Command::FlashChunk:
        return flashChunk(payload);
    case Command::FlashCommit:
        return flashCommit(payload);
    case Command::FlashStatus:
        return flashStatus(payload);
    case Command::BootReport:
        return bootReport(payload);
    case Command::FactoryLock:
        return factoryLock(payload);
    case Command::Reset:
        return reset(payload);
    }
    return Reply::refuse(DeviceError::UnknownCommand, commandName(command));
}

Reply VirtualDevice::identify(const QByteArray& payload) {
    if (!payload.isEmpty())
        return unexpectedPayload(Command::Identify, payload);
    IdentifyInfo info;
    info.protocolVersion = 1;
    info.chipUid = m_state.chipUid;
    info.hardwareRevision = QLatin1String(kSimHardwareRevision);
    info.bootRomVersion = QLatin1String(kBootRomVersion);
    info.lifecycle = m_state.locked ? Lifecycle::Locked : Lifecycle::Factory;
    info.maxChunk = static_cast<std::uint32_t>(m_config.maxChunk);
    info.provisioned = provisionedFlags();
    return Reply::ok(info.encode());
}

Reply VirtualDevice::keystoreWrite(const QByteArray& payload) {
    auto request = KeystoreWriteRequest::decode(payload);
    if (!request)
        return malformed(request.error());
    if (auto verified = m_keystoreVerifier.verify(request->keystore, m_state.keystore); !verified)
        return Reply::refuse(DeviceError::KeystoreRejected, verified.error().message());
    DeviceState next = m_state;
    next.keystore = request->keystore;
    if (auto saved = saveState(next); !saved)
        return storageFailure(saved.error());
    return keystoreStatus({});
}

Reply VirtualDevice::keystoreStatus(const QByteArray& payload) {
    if (!payload.isEmpty())
        return unexpectedPayload(Command::KeystoreStatus, payload);
    KeystoreStatusResponse status;
    status.present = !m_state.keystore.isEmpty();
    if (status.present)
        status.sha256 = ossl::sha256(m_state.keystore);
    return Reply::ok(status.encode());
}

Reply VirtualDevice::factoryLock(const QByteArray& payload) {
    if (!payload.isEmpty())
        return unexpectedPayload(Command::FactoryLock, payload);
    DeviceState next = m_state;
    next.locked = true;
    if (auto saved = saveState(next); !saved)
        return storageFailure(saved.error());
    return Reply::ok();
}

Reply VirtualDevice::reset(const QByteArray& payload) {
    if (!payload.isEmpty())
        return unexpectedPayload(Command::Reset, payload);
    Reply reply = Reply::ok();
    reply.rebootAfter = true;
    reply.work = usecs(m_config.timing.boot);
    return reply;
}

Reply VirtualDevice::bootReport(const QByteArray& payload) {
    auto request = BootReportRequest::decode(payload);
    if (!request)
        return malformed(request.error());
    if (!m_deviceKey)
        return Reply::refuse(DeviceError::NoDeviceKey,
                             QStringLiteral("the boot report is signed with the device key; "
                                            "run device-key-generate first"));
    if (m_flash.installedSha256.isEmpty())
        return Reply::refuse(DeviceError::NotBootable, QStringLiteral("no firmware installed"));
    if (m_flash.transfer == FlashState::Interrupted)
        return Reply::refuse(DeviceError::NotBootable,
                             QStringLiteral("a firmware install was interrupted; commit again"));
    BootReport report;
    report.chipUid = m_state.chipUid;
    report.nonce = request->nonce;
    report.lifecycle = m_state.locked ? Lifecycle::Locked : Lifecycle::Factory;
    report.otpKeyCheck = m_state.otpKey.isEmpty()
                             ? QByteArray()
                             : ossl::aesKeyCheckValue(m_state.otpKey).valueOr(QByteArray());
    report.keystoreSha256 =
        m_state.keystore.isEmpty() ? QByteArray() : ossl::sha256(m_state.keystore);
    // Secure boot measures the image actually in flash, not what the record says.
    // OpenSSL's SHA-256, not QCryptographicHash: several times faster where the CPU has SHA
    // instructions, and boot hashes the whole image.
    QFile image(m_store.installedImagePath());
    QByteArray measured;
    if (image.open(QIODevice::ReadOnly) && image.size() <= firmware::kMaxPackageBytes)
        measured = ossl::sha256(image.readAll());
    report.firmwareSha256 = measured;
    if (measured.isEmpty() || measured != m_flash.installedSha256) {
        report.message = QStringLiteral("installed firmware does not match its record");
    } else if (auto verified = m_secureBoot.verify(m_store.installedImagePath(), m_state, measured);
               !verified) {
        report.message = verified.error().message();
    } else {
        SecureBoot::measure(*verified, report);
        report.bootOk = true;
        report.message = QStringLiteral("ok");
        if (auto raised = raiseCounters(*verified); !raised)
            return storageFailure(raised.error());
    }
    QByteArray encoded = report.encode();
    auto signature = ossl::signSha256(m_deviceKey.get(), bootReportMessage(encoded));
    if (!signature)
        return Reply::refuse(DeviceError::Internal, signature.error().message());
    Reply reply = Reply::ok(BootReportResponse{encoded, *signature}.encode());
    reply.work = usecs(m_config.timing.boot) + usecs(m_config.timing.signature) +
                 bytesAt(m_config.timing.flashBytesPerSecond * 4, m_flash.installedSize);
    return reply;
}

} // namespace keyline::sim
