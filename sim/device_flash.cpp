// Flash transfer and install. Chunks are written in place with pwrite; the durable offset is
// recorded every kDurableStep bytes, when the image is complete, at commit and when the link
// drops, so the hot path costs one pwrite per chunk and a small state file per 8 MiB. Nothing is
// fsynced: the device models its own power loss, and both the image and its record survive the
// simulator being killed (docs/wearable-sim.md, "Persistence").
#include "flashing/flash_writer.h"
#include "sim/atomic_file.h"
#include "sim/device.h"

#include <QFile>
#include <QFileInfo>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace keyline::sim {

using namespace keyline::protocol;

namespace {

constexpr std::uint64_t kFlashCapacity = 4ull << 30; // 4 GiB of simulated flash
constexpr std::uint64_t kDurableStep = 8u << 20;
constexpr const char* kBrownoutFault = "brownout-at-commit";

QByteArray fileSha256(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    uchar* mapped = file.size() > 0 ? file.map(0, file.size()) : nullptr;
    if (!mapped)
        return file.size() == 0 ? flashing::sha256({}) : QByteArray();
    return flashing::sha256(
        QByteArray::fromRawData(reinterpret_cast<const char*>(mapped), qsizetype(file.size())));
}

} // namespace

bool VirtualDevice::firmwareInstalled() const {
    return !m_flash.installedSha256.isEmpty() && m_flash.transfer != FlashState::Interrupted;
}

FlashStatusResponse VirtualDevice::currentFlashStatus() const {
    FlashStatusResponse status;
    if (m_flash.transfer != FlashState::Idle) {
        status.state = m_flash.transfer;
        status.totalSize = m_flash.totalSize;
        status.offset =
            m_flash.transfer == FlashState::Receiving ? m_receivedOffset : m_flash.totalSize;
        status.sha256 = m_flash.sha256;
    } else if (!m_flash.installedSha256.isEmpty()) {
        status.state = FlashState::Installed;
        status.totalSize = m_flash.installedSize;
        status.offset = m_flash.installedSize;
        status.sha256 = m_flash.installedSha256;
    }
    return status;
}

void VirtualDevice::closeReceivingImage() {
    if (m_imageFd >= 0) {
        ::close(m_imageFd);
        m_imageFd = -1;
    }
}

Result<void> VirtualDevice::openReceivingImage(bool truncate) {
    if (m_imageFd >= 0 && !truncate)
        return success();
    closeReceivingImage();
    const QByteArray path = QFile::encodeName(m_store.receivingImagePath());
    m_imageFd =
        ::open(path.constData(), O_RDWR | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0600);
    if (m_imageFd < 0)
        return Error(ErrorCode::Io, QStringLiteral("cannot open %1: %2")
                                        .arg(m_store.receivingImagePath(), systemErrorText(errno)));
    struct stat st {};
    // Bytes beyond the end of the file were never written: resume no later than that.
    if (::fstat(m_imageFd, &st) == 0 && std::uint64_t(st.st_size) < m_receivedOffset)
        m_receivedOffset = std::uint64_t(st.st_size);
    return success();
}

Result<void> VirtualDevice::makeReceivedBytesDurable() {
    FlashRecord next = m_flash;
    next.durableOffset = m_receivedOffset;
    if (m_receivedOffset == m_flash.totalSize && m_flash.transfer == FlashState::Receiving)
        next.transfer = FlashState::Received;
    KL_TRY(m_store.saveFlash(next));
    m_flash = next;
    return success();
}

Reply VirtualDevice::flashBegin(const QByteArray& payload) {
    auto request = FlashBeginRequest::decode(payload);
    if (!request)
        return malformed(request.error());
    if (request->totalSize == 0 || request->totalSize > kFlashCapacity)
        return Reply::refuse(DeviceError::MalformedRequest,
                             QStringLiteral("flash-begin request: field 'total_size' must be 1 "
                                            "… %1 bytes (the flash capacity)")
                                 .arg(kFlashCapacity));
    const bool sameTransfer = m_flash.transfer != FlashState::Idle &&
                              m_flash.totalSize == request->totalSize &&
                              m_flash.sha256 == request->sha256;
    if (sameTransfer && m_flash.transfer != FlashState::Receiving)
        return Reply::ok(FlashProgress{m_flash.totalSize}.encode());
    if (sameTransfer) {
        if (auto opened = openReceivingImage(false); !opened)
            return storageFailure(opened.error());
        if (m_receivedHash && m_receivedHash->bytes() != m_receivedOffset)
            m_receivedHash.reset();
        return Reply::ok(FlashProgress{m_receivedOffset}.encode());
    }
    // A new transfer: start over at 0. The installed image stays until a commit replaces it.
    if (auto opened = openReceivingImage(true); !opened)
        return storageFailure(opened.error());
    FlashRecord next = m_flash;
    next.transfer = FlashState::Receiving;
    next.totalSize = request->totalSize;
    next.durableOffset = 0;
    next.sha256 = request->sha256;
    if (auto saved = m_store.saveFlash(next); !saved)
        return storageFailure(saved.error());
    m_flash = next;
    m_receivedOffset = 0;
    m_receivedHash.emplace();
    return Reply::ok(FlashProgress{0}.encode());
}

Reply VirtualDevice::flashChunk(const QByteArray& payload) {
    auto request = FlashChunkRequest::decodeView(payload);
    if (!request)
        return malformed(request.error());
    switch (m_flash.transfer) {
    case FlashState::Idle:
    case FlashState::Installed:
        return Reply::refuse(DeviceError::FlashNotStarted, QStringLiteral("send flash-begin"));
    case FlashState::Interrupted:
        return Reply::refuse(DeviceError::WrongState,
                             QStringLiteral("a commit was interrupted; send flash-commit"));
    case FlashState::Received:
        return Reply::refuse(
            DeviceError::FlashOffsetMismatch,
            QStringLiteral("all %1 bytes are in; send flash-commit").arg(m_flash.totalSize));
    case FlashState::Receiving:
        break;
    }
    const auto size = std::uint64_t(request->data.size());
    if (size == 0 || request->data.size() > m_config.maxChunk)
        return Reply::refuse(DeviceError::MalformedRequest,
                             QStringLiteral("flash-chunk request: field 'data' must be 1 … %1 "
                                            "bytes (max_chunk), not %2")
                                 .arg(m_config.maxChunk)
                                 .arg(size));
    if (request->offset != m_receivedOffset)
        return Reply::refuse(DeviceError::FlashOffsetMismatch,
                             QStringLiteral("expected offset %1, got %2")
                                 .arg(m_receivedOffset)
                                 .arg(request->offset));
    if (request->offset + size > m_flash.totalSize)
        return Reply::refuse(DeviceError::MalformedRequest,
                             QStringLiteral("flash-chunk request: field 'data' ends at %1, past "
                                            "the announced total_size %2")
                                 .arg(request->offset + size)
                                 .arg(m_flash.totalSize));
    if (auto opened = openReceivingImage(false); !opened)
        return storageFailure(opened.error());
    const char* data = request->data.constData();
    std::uint64_t written = 0;
    while (written < size) {
        ssize_t n = ::pwrite(m_imageFd, data + written, size_t(size - written),
                             off_t(request->offset + written));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return storageFailure(
                Error(ErrorCode::Io,
                      QStringLiteral("flash write failed: %1").arg(systemErrorText(errno))));
        written += std::uint64_t(n);
    }
    if (m_receivedHash && m_receivedHash->bytes() == request->offset)
        m_receivedHash->add(data, std::size_t(size));
    else
        m_receivedHash.reset();
    m_receivedOffset += size;
    if (m_receivedOffset == m_flash.totalSize ||
        m_receivedOffset - m_flash.durableOffset >= kDurableStep)
        if (auto durable = makeReceivedBytesDurable(); !durable)
            return storageFailure(durable.error());
    Reply reply = Reply::ok(FlashProgress{m_receivedOffset}.encode());
    reply.work = bytesAt(m_config.timing.flashBytesPerSecond, size);
    return reply;
}

Result<void> VirtualDevice::install() {
    // Durably "commit in progress" first: power lost from here on reads back as Interrupted.
    FlashRecord committing = m_flash;
    committing.transfer = FlashState::Interrupted;
    KL_TRY(m_store.saveFlash(committing));
    m_flash = committing;
    closeReceivingImage();
    const QString from = m_store.receivingImagePath();
    const QString to = m_store.installedImagePath();
    // rename() replaces the old installed image in one step, so one of the two always boots.
    if (::rename(QFile::encodeName(from).constData(), QFile::encodeName(to).constData()) != 0)
        return Error(ErrorCode::Io,
                     QStringLiteral("cannot install %1: %2").arg(to, systemErrorText(errno)));
    KL_TRY(syncDirectory(QFileInfo(to).absolutePath()));
    FlashRecord installed;
    installed.installedSize = m_flash.totalSize;
    installed.installedSha256 = m_flash.sha256;
    KL_TRY(m_store.saveFlash(installed));
    m_flash = installed;
    m_receivedOffset = 0;
    return success();
}

Reply VirtualDevice::flashCommit(const QByteArray& payload) {
    if (!payload.isEmpty())
        return unexpectedPayload(Command::FlashCommit, payload);
    switch (m_flash.transfer) {
    case FlashState::Idle:
    case FlashState::Installed:
        if (m_flash.installedSha256.isEmpty())
            return Reply::refuse(DeviceError::FlashNotStarted,
                                 QStringLiteral("nothing to commit; send flash-begin"));
        return Reply::ok(currentFlashStatus().encode()); // already installed: safe to repeat
    case FlashState::Receiving:
        return Reply::refuse(
            DeviceError::FlashIncomplete,
            QStringLiteral("%1 of %2 bytes received").arg(m_receivedOffset).arg(m_flash.totalSize));
    case FlashState::Received:
    case FlashState::Interrupted:
        break;
    }
    if (m_config.faults.brownoutAtCommit &&
        !m_state.firedFaults.contains(QLatin1String(kBrownoutFault))) {
        // Power fails in the middle of the install: the record says Interrupted, nothing is
        // answered, and the link drops.
        FlashRecord cut = m_flash;
        cut.transfer = FlashState::Interrupted;
        DeviceState next = m_state;
        next.firedFaults.append(QLatin1String(kBrownoutFault));
        if (auto saved = m_store.saveFlash(cut); !saved)
            return storageFailure(saved.error());
        m_flash = cut;
        if (auto saved = saveState(next); !saved)
            return storageFailure(saved.error());
        closeReceivingImage();
        Reply reply;
        reply.powerLoss = true;
        return reply;
    }
    const QString receiving = m_store.receivingImagePath();
    Reply reply;
    reply.work = bytesAt(m_config.timing.flashBytesPerSecond * 4, m_flash.totalSize);
    if (!QFile::exists(receiving) && m_flash.transfer == FlashState::Interrupted &&
        m_flash.installedSha256 == m_flash.sha256 &&
        fileSha256(m_store.installedImagePath()) == m_flash.sha256) {
        // Power was lost after the rename: the image is in place (it verified before the
        // rename), finish the record and the counters.
        FlashRecord installed;
        installed.installedSize = m_flash.totalSize;
        installed.installedSha256 = m_flash.sha256;
        if (auto saved = m_store.saveFlash(installed); !saved)
            return storageFailure(saved.error());
        m_flash = installed;
        if (auto verified = m_secureBoot.verify(m_store.installedImagePath(), m_state); verified)
            if (auto raised = raiseCounters(*verified); !raised)
                return storageFailure(raised.error());
        reply.payload = currentFlashStatus().encode();
        return reply;
    }
    // Hashed on arrival when every byte came in order since offset 0; the file otherwise.
    QByteArray actual;
    if (m_receivedHash && m_receivedHash->bytes() == m_flash.totalSize &&
        m_receivedOffset == m_flash.totalSize)
        actual = m_receivedHash->finish();
    m_receivedHash.reset();
    if (actual.isEmpty())
        actual = fileSha256(receiving);
    if (actual != m_flash.sha256) {
        // The bytes are wrong: drop the transfer so that flash-begin starts over.
        const QByteArray announced = m_flash.sha256;
        if (auto dropped = abandonTransfer(); !dropped)
            return storageFailure(dropped.error());
        return Reply::refuse(
            DeviceError::FlashVerifyFailed,
            QStringLiteral("received image has SHA-256 %1, announced %2")
                .arg(QString::fromLatin1(actual.toHex()), QString::fromLatin1(announced.toHex())));
    }
    // Secure install: only a package that verifies against what this device holds. The
    // receiving file is closed to writes before it is read, and boot verifies it again.
    closeReceivingImage();
    auto verified = m_secureBoot.verify(receiving, m_state, actual);
    if (!verified) {
        if (auto dropped = abandonTransfer(); !dropped)
            return storageFailure(dropped.error());
        return Reply::refuse(DeviceError::PackageRejected, verified.error().message());
    }
    if (auto installed = install(); !installed)
        return storageFailure(installed.error());
    // After the install, never before: a cut in between leaves the new image with the old,
    // lower counters, which boot raises; raising first could leave the old image unbootable.
    if (auto raised = raiseCounters(*verified); !raised)
        return storageFailure(raised.error());
    reply.payload = currentFlashStatus().encode();
    return reply;
}

Result<void> VirtualDevice::abandonTransfer() {
    closeReceivingImage();
    QFile::remove(m_store.receivingImagePath());
    FlashRecord next = m_flash;
    next.transfer = FlashState::Idle;
    next.totalSize = 0;
    next.durableOffset = 0;
    next.sha256.clear();
    KL_TRY(m_store.saveFlash(next));
    m_flash = next;
    m_receivedOffset = 0;
    m_receivedHash.reset();
    return success();
}

Result<void> VirtualDevice::raiseCounters(const firmware::VerifiedPackage& verified) {
    if (verified.osCounter <= m_state.osCounter && verified.appCounter <= m_state.appCounter)
        return success();
    DeviceState next = m_state;
    next.osCounter = std::max(next.osCounter, verified.osCounter);
    next.appCounter = std::max(next.appCounter, verified.appCounter);
    return saveState(next);
}

Reply VirtualDevice::flashStatus(const QByteArray& payload) {
    if (!payload.isEmpty())
        return unexpectedPayload(Command::FlashStatus, payload);
    return Reply::ok(currentFlashStatus().encode());
}

} // namespace keyline::sim
