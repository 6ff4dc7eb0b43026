#include "sim/device_session.h"

#include <openssl/rand.h>

namespace keyline::sim {

using namespace keyline::protocol;

namespace {

constexpr int kGarbageSize = 64;
constexpr int kMaxErrorMessage = 400; // the error answer's str field allows 512 bytes

QByteArray randomGarbage() {
    QByteArray bytes(kGarbageSize, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), kGarbageSize);
    // Never the first byte of the frame magic: the station must see a bad frame, every time.
    if (bytes[0] == 'K')
        bytes[0] = 'k';
    return bytes;
}

} // namespace

DeviceSession::DeviceSession(int port, std::shared_ptr<VirtualDevice> device, LinkFaults faults,
                             Timing timing, std::function<void(const QString&)> log,
                             std::function<void(std::chrono::microseconds worked)> onClose)
    : m_port(port)
    , m_device(std::move(device))
    , m_faults(faults)
    , m_pacer(timing)
    , m_log(std::move(log))
    , m_onClose(std::move(onClose)) {}

DeviceSession::~DeviceSession() {
    m_device->linkDropped();
    if (m_onClose)
        m_onClose(m_pacer.charged());
}

void DeviceSession::log(const QString& line) const {
    if (m_log)
        m_log(QStringLiteral("port %1: %2").arg(m_port, 2, 10, QLatin1Char('0')).arg(line));
}

bool DeviceSession::fireOnce(const QString& key) {
    if (m_device->faultFired(key))
        return false;
    if (auto marked = m_device->markFaultFired(key); !marked)
        log(QStringLiteral("cannot record fault %1: %2").arg(key, marked.error().toString()));
    log(QStringLiteral("fault %1 fired").arg(key));
    return true;
}

void DeviceSession::appendError(Output& out, std::uint16_t command, std::uint32_t sequence,
                                DeviceError code, const QString& message) {
    const QByteArray payload =
        ErrorResponse{static_cast<std::uint16_t>(code), message.left(kMaxErrorMessage)}.encode();
    appendFrame(out.bytes, FlagResponse | FlagError, command, sequence, payload.constData(),
                static_cast<int>(payload.size()));
}

qsizetype DeviceSession::acceptedBytes(qsizetype size, bool& dropAfterInput) {
    dropAfterInput = false;
    if (!m_faults.disconnectAfterBytes)
        return size;
    const QString key =
        QStringLiteral("disconnect-after-bytes=%1").arg(*m_faults.disconnectAfterBytes);
    const std::uint64_t total = m_device->addReceivedBytes(std::uint64_t(size));
    if (total < *m_faults.disconnectAfterBytes || !fireOnce(key))
        return size;
    const std::uint64_t before = total - std::uint64_t(size);
    const std::uint64_t limit = *m_faults.disconnectAfterBytes;
    dropAfterInput = true;
    return before >= limit ? 0 : qsizetype(limit - before);
}

PortSession::Output DeviceSession::feed(const char* data, qsizetype size) {
    if (m_dropped || size <= 0)
        return Output{{}, m_dropped, {}};
    bool dropAfterInput = false;
    const qsizetype accepted = acceptedBytes(size, dropAfterInput);
    m_pacer.arrived(accepted);
    m_decoder.feed(data, static_cast<int>(accepted));
    return process(dropAfterInput);
}

char* DeviceSession::receiveBuffer(qsizetype& size) {
    // Reading no further than the end of the frame in progress leaves nothing to move before
    // the next read; small frames are read in batches.
    size = std::min(size, std::max<qsizetype>(m_decoder.missing(), 64 * 1024));
    return m_decoder.prepareWrite(size);
}

PortSession::Output DeviceSession::received(qsizetype size) {
    if (m_dropped || size <= 0) {
        m_decoder.commitWrite(0);
        return Output{{}, m_dropped, {}};
    }
    bool dropAfterInput = false;
    const qsizetype accepted = acceptedBytes(size, dropAfterInput);
    m_pacer.arrived(accepted);
    m_decoder.commitWrite(accepted); // bytes past an injected disconnect never arrived
    return process(dropAfterInput);
}

PortSession::Output DeviceSession::process(bool dropAfterInput) {
    Output out;
    while (!out.disconnect) {
        // Payloads are views into the decoder's buffer, valid until the next feed(): a flash
        // chunk goes from there to flash without a copy; other commands copy what they keep.
        auto next = m_decoder.next(FrameDecoder::PayloadMode::View);
        if (!next)
            break;
        if (next->ok()) {
            handleFrame(next->value(), out);
            continue;
        }
        const Error& error = next->error();
        if (error.detail() == int(FrameFault::BadCheck) && m_decoder.lastDamaged()) {
            appendError(out, m_decoder.lastDamaged()->command, m_decoder.lastDamaged()->sequence,
                        DeviceError::BadFrame, QStringLiteral("frame check failed; send it again"));
            continue;
        }
        log(QStringLiteral("frame boundary lost (%1); dropping the link").arg(error.message()));
        out.disconnect = true;
    }
    if (dropAfterInput)
        out.disconnect = true;
    if (m_faults.flood && !out.bytes.isEmpty() && !out.disconnect)
        out.repeatForever = out.bytes; // a stuck transmitter: the answer, again and again
    m_pacer.chargeLink(out.bytes.size());
    m_pacer.settle();
    m_dropped = out.disconnect;
    return out;
}

void DeviceSession::handleFrame(const Frame& frame, Output& out) {
    if (m_faults.garbage) {
        out.bytes += randomGarbage();
        return;
    }
    if (frame.isResponse()) {
        appendError(out, frame.command, frame.sequence, DeviceError::MalformedRequest,
                    QStringLiteral("flags: a request carries flags 0, not an answer's"));
        return;
    }
    const std::optional<Command> command = commandFromWire(frame.command);
    if (command && m_faults.disconnectAt && *command == *m_faults.disconnectAt &&
        fireOnce(QStringLiteral("disconnect-at=%1").arg(commandName(*command)))) {
        out.disconnect = true; // the link drops before the command runs
        return;
    }
    if (!command) {
        appendError(out, frame.command, frame.sequence, DeviceError::UnknownCommand,
                    QStringLiteral("command 0x%1 is not known")
                        .arg(frame.command, 4, 16, QLatin1Char('0')));
        return;
    }
    if (*command == Command::FlashChunk && m_faults.corruptChunk &&
        m_device->nextFlashChunkNumber() == *m_faults.corruptChunk &&
        fireOnce(QStringLiteral("corrupt-chunk=%1").arg(*m_faults.corruptChunk))) {
        // The chunk was damaged in transit: to the device this is a CRC failure.
        appendError(out, frame.command, frame.sequence, DeviceError::BadFrame,
                    QStringLiteral("frame check failed; send it again"));
        return;
    }
    const QByteArray payload = *command == Command::FlashChunk
                                   ? frame.payload
                                   : QByteArray(frame.payload.constData(), frame.payload.size());
    Reply reply = m_device->handle(*command, payload);
    m_pacer.charge(reply.work);
    if (reply.powerLoss) {
        log(QStringLiteral("power lost during %1; dropping the link").arg(commandName(*command)));
        out.disconnect = true;
        return;
    }
    if (reply.error)
        appendError(out, frame.command, frame.sequence, *reply.error, reply.message);
    else
        appendFrame(out.bytes, FlagResponse, frame.command, frame.sequence,
                    reply.payload.constData(), static_cast<int>(reply.payload.size()));
    if (reply.rebootAfter)
        out.disconnect = true;
}

} // namespace keyline::sim
