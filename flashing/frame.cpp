#include "flashing/frame.h"

#include "flashing/crc32c.h"

namespace keyline::protocol {
namespace {

std::uint32_t readBe32(const char* p) {
    auto b = reinterpret_cast<const unsigned char*>(p);
    return (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) |
           std::uint32_t(b[3]);
}

std::uint16_t readBe16(const char* p) {
    auto b = reinterpret_cast<const unsigned char*>(p);
    return static_cast<std::uint16_t>((b[0] << 8) | b[1]);
}

void writeBe32(char* p, std::uint32_t v) {
    p[0] = static_cast<char>(v >> 24);
    p[1] = static_cast<char>(v >> 16);
    p[2] = static_cast<char>(v >> 8);
    p[3] = static_cast<char>(v);
}

std::uint32_t crc(const char* data, qsizetype size) {
    return crc32c(0, data, size);
}

Error fault(FrameFault f, const QString& message) {
    return Error(ErrorCode::ProtocolViolation, message, static_cast<int>(f));
}

struct Header {
    std::uint8_t flags;
    std::uint16_t command;
    std::uint32_t sequence;
    std::uint32_t length;
};

// Checks the fields that locate the frame; anything wrong here loses the frame boundary.
Result<Header> parseHeader(const char* p) {
    std::uint32_t magic = readBe32(p);
    if (magic != kMagic)
        return fault(FrameFault::BadMagic,
                     QStringLiteral("bad frame magic 0x%1 (expected 0x4b4c5750 \"KLWP\")")
                         .arg(magic, 8, 16, QLatin1Char('0')));
    auto version = static_cast<std::uint8_t>(p[4]);
    if (version != kVersion)
        return fault(FrameFault::BadVersion,
                     QStringLiteral("unsupported protocol version %1 (this station speaks %2)")
                         .arg(version)
                         .arg(kVersion));
    auto flags = static_cast<std::uint8_t>(p[5]);
    if ((flags & ~kKnownFlags) || ((flags & FlagError) && !(flags & FlagResponse)))
        return fault(
            FrameFault::BadFlags,
            QStringLiteral("invalid frame flags 0x%1").arg(flags, 2, 16, QLatin1Char('0')));
    Header h{flags, readBe16(p + 6), readBe32(p + 8), readBe32(p + 12)};
    if (h.length > std::uint32_t(kMaxPayload))
        return fault(FrameFault::Oversized,
                     QStringLiteral("frame announces %1 payload bytes, limit is %2")
                         .arg(h.length)
                         .arg(kMaxPayload));
    return h;
}

Result<Frame> finishFrame(const Header& h, const char* start, bool view) {
    qsizetype body = kHeaderSize + qsizetype(h.length);
    std::uint32_t expected = readBe32(start + body);
    std::uint32_t actual = crc(start, body);
    if (expected != actual)
        return fault(FrameFault::BadCheck,
                     QStringLiteral("frame check failed for command 0x%1 sequence %2 "
                                    "(CRC-32C 0x%3, computed 0x%4)")
                         .arg(h.command, 4, 16, QLatin1Char('0'))
                         .arg(h.sequence)
                         .arg(expected, 8, 16, QLatin1Char('0'))
                         .arg(actual, 8, 16, QLatin1Char('0')));
    Frame f;
    f.flags = h.flags;
    f.command = h.command;
    f.sequence = h.sequence;
    f.payload = view ? QByteArray::fromRawData(start + kHeaderSize, qsizetype(h.length))
                     : QByteArray(start + kHeaderSize, qsizetype(h.length));
    return f;
}

} // namespace

QString frameFaultName(FrameFault f) {
    switch (f) {
    case FrameFault::Truncated:
        return QStringLiteral("truncated");
    case FrameFault::BadMagic:
        return QStringLiteral("bad-magic");
    case FrameFault::BadVersion:
        return QStringLiteral("bad-version");
    case FrameFault::BadFlags:
        return QStringLiteral("bad-flags");
    case FrameFault::Oversized:
        return QStringLiteral("oversized");
    case FrameFault::BadCheck:
        return QStringLiteral("bad-check");
    case FrameFault::TrailingBytes:
        return QStringLiteral("trailing-bytes");
    }
    return QStringLiteral("unknown");
}

void writeFrameHeader(char* p, std::uint8_t flags, std::uint16_t command, std::uint32_t sequence,
                      std::uint32_t payloadSize) {
    writeBe32(p, kMagic);
    p[4] = static_cast<char>(kVersion);
    p[5] = static_cast<char>(flags);
    p[6] = static_cast<char>(command >> 8);
    p[7] = static_cast<char>(command);
    writeBe32(p + 8, sequence);
    writeBe32(p + 12, payloadSize);
}

std::uint32_t frameCheck(std::uint32_t previous, const char* data, qsizetype size) {
    return crc32c(previous, data, size);
}

void appendFrame(QByteArray& out, std::uint8_t flags, std::uint16_t command, std::uint32_t sequence,
                 const char* payload, int payloadSize) {
    Q_ASSERT(payloadSize >= 0 && payloadSize <= kMaxPayload);
    qsizetype start = out.size();
    out.resize(start + kHeaderSize + payloadSize + kTrailerSize);
    char* p = out.data() + start;
    writeFrameHeader(p, flags, command, sequence, static_cast<std::uint32_t>(payloadSize));
    if (payloadSize > 0)
        memcpy(p + kHeaderSize, payload, static_cast<size_t>(payloadSize));
    writeBe32(p + kHeaderSize + payloadSize, crc(p, kHeaderSize + payloadSize));
}

QByteArray encodeFrame(const Frame& frame) {
    QByteArray out;
    appendFrame(out, frame.flags, frame.command, frame.sequence, frame.payload.constData(),
                static_cast<int>(frame.payload.size()));
    return out;
}

Result<Frame> decodeFrame(const QByteArray& bytes) {
    if (bytes.size() < kHeaderSize + kTrailerSize)
        return fault(FrameFault::Truncated,
                     QStringLiteral("frame of %1 bytes is shorter than the %2-byte minimum")
                         .arg(bytes.size())
                         .arg(kHeaderSize + kTrailerSize));
    KL_TRY_ASSIGN(Header h, parseHeader(bytes.constData()));
    qsizetype total = kHeaderSize + qsizetype(h.length) + kTrailerSize;
    if (bytes.size() < total)
        return fault(
            FrameFault::Truncated,
            QStringLiteral("frame truncated: %1 of %2 bytes").arg(bytes.size()).arg(total));
    if (bytes.size() > total)
        return fault(
            FrameFault::TrailingBytes,
            QStringLiteral("%1 bytes after the end of the frame").arg(bytes.size() - total));
    return finishFrame(h, bytes.constData(), false);
}

void FrameDecoder::feed(const char* data, int size) {
    if (m_poisoned || size <= 0)
        return;
    reserveTail(size);
    memcpy(m_storage.data() + m_end, data, size_t(size));
    m_end += size;
}

char* FrameDecoder::prepareWrite(qsizetype size) {
    reserveTail(size);
    m_writeStart = m_end;
    return m_storage.data() + m_end;
}

void FrameDecoder::commitWrite(qsizetype written) {
    Q_ASSERT(m_writeStart == m_end && written >= 0 &&
             m_end + written <= qsizetype(m_storage.size()));
    // A poisoned stream keeps nothing more, as feed() would not.
    if (!m_poisoned)
        m_end += written;
    m_writeStart = -1;
}

void FrameDecoder::reserveTail(qsizetype size) {
    if (m_begin == m_end)
        m_begin = m_end = 0;
    if (qsizetype(m_storage.size()) - m_end >= size)
        return;
    if (m_begin > 0) {
        memmove(m_storage.data(), m_storage.data() + m_begin, size_t(m_end - m_begin));
        m_end -= m_begin;
        m_begin = 0;
    }
    if (qsizetype(m_storage.size()) - m_end < size)
        m_storage.resize(size_t(std::max(m_end + size, qsizetype(m_storage.size()) * 2)));
}

qsizetype FrameDecoder::missing() const {
    qsizetype have = pending();
    if (have < kHeaderSize)
        return kHeaderSize + kTrailerSize - have;
    std::uint32_t length = readBe32(m_storage.data() + m_begin + 12);
    if (length > std::uint32_t(kMaxPayload))
        return 1;
    qsizetype total = kHeaderSize + qsizetype(length) + kTrailerSize;
    return total > have ? total - have : 1;
}

std::optional<Result<Frame>> FrameDecoder::next(PayloadMode mode) {
    if (m_poisoned)
        return Result<Frame>(*m_poisoned);
    if (pending() < kHeaderSize)
        return std::nullopt;
    const char* start = m_storage.data() + m_begin;
    auto header = parseHeader(start);
    if (!header.ok()) {
        m_poisoned = header.error();
        return Result<Frame>(*m_poisoned);
    }
    qsizetype total = kHeaderSize + qsizetype(header->length) + kTrailerSize;
    if (pending() < total)
        return std::nullopt;
    m_begin += total;
    auto frame = finishFrame(*header, start, mode == PayloadMode::View);
    if (!frame.ok())
        m_lastDamaged = DamagedFrame{header->command, header->sequence};
    return frame;
}

} // namespace keyline::protocol
