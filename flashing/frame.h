#pragma once

#include "common/result.h"

#include <QByteArray>
#include <cstdint>
#include <optional>
#include <vector>

// The wire frame of the Keyline device protocol (docs/device-protocol.md, "Frames").
namespace keyline::protocol {

inline constexpr std::uint32_t kMagic = 0x4B4C5750; // "KLWP"
inline constexpr std::uint8_t kVersion = 1;
inline constexpr int kHeaderSize = 16;
inline constexpr int kTrailerSize = 4; // CRC-32C (Castagnoli) over header and payload
inline constexpr int kMaxPayload = 1024 * 1024;
inline constexpr int kMaxFrameSize = kHeaderSize + kMaxPayload + kTrailerSize;

enum FrameFlag : std::uint8_t {
    FlagResponse = 0x01,
    FlagError = 0x02,
};
inline constexpr std::uint8_t kKnownFlags = FlagResponse | FlagError;

struct Frame {
    std::uint8_t flags = 0;
    std::uint16_t command = 0;
    std::uint32_t sequence = 0;
    QByteArray payload;

    bool isResponse() const { return flags & FlagResponse; }
    bool isError() const { return flags & FlagError; }
};

// Why bytes are not a frame. Kept distinct so tests and the fault report can name the class.
enum class FrameFault {
    Truncated,  // fewer bytes than the header or the announced length
    BadMagic,   // not the start of a frame
    BadVersion, // a protocol version this side does not speak
    BadFlags,   // reserved flag bits set, or error without response
    Oversized,  // announced payload longer than kMaxPayload
    BadCheck,   // CRC-32C does not match: the bytes were damaged in transit
    TrailingBytes,
};
QString frameFaultName(FrameFault fault);

// Encodes a frame; the payload must not exceed kMaxPayload.
QByteArray encodeFrame(const Frame& frame);

// Appends an encoded frame to `out` without an intermediate copy of the payload.
void appendFrame(QByteArray& out, std::uint8_t flags, std::uint16_t command, std::uint32_t sequence,
                 const char* payload, int payloadSize);

// Writes the 16-byte header for a payload of `payloadSize` bytes into `out`.
void writeFrameHeader(char* out, std::uint8_t flags, std::uint16_t command, std::uint32_t sequence,
                      std::uint32_t payloadSize);

// The frame check (CRC-32C), continued over further bytes (start with crc = 0).
std::uint32_t frameCheck(std::uint32_t crc, const char* data, qsizetype size);

// Decodes exactly one frame that fills `bytes`. The Error's detail() is the FrameFault.
Result<Frame> decodeFrame(const QByteArray& bytes);

// Reassembles frames from a byte stream (socket, USB bulk pipe).
// A damaged frame whose boundaries are still known (BadCheck) is skipped and reported once;
// a fault that loses the frame boundary (magic, version, flags, length) poisons the decoder:
// the stream is out of step and the link has to be reset.
class FrameDecoder {
public:
    void feed(const char* data, int size);
    void feed(const QByteArray& bytes) { feed(bytes.constData(), static_cast<int>(bytes.size())); }

    // The next complete frame, an error, or nullopt when more bytes are needed.
    // With PayloadMode::View the payload is not copied: it refers into the decoder's buffer and
    // stays valid only until the next feed() or prepareWrite(). The device's flash path uses it so
    // that an image chunk is not copied between the link and flash; anything kept must be copied.
    enum class PayloadMode { Copy, View };
    std::optional<Result<Frame>> next(PayloadMode mode = PayloadMode::Copy);

    // Reading straight into the decoder, without the copy feed() makes: room for `size` more
    // bytes at the end of the buffer, then commitWrite() with how many were written (0..size).
    char* prepareWrite(qsizetype size);
    void commitWrite(qsizetype written);

    bool poisoned() const { return m_poisoned.has_value(); }
    // Bytes received but not yet returned as a frame.
    qsizetype pending() const { return m_end - m_begin; }
    // How many more bytes complete the frame being received (at least 1 when waiting).
    qsizetype missing() const;

    // The header of the frame next() last reported as BadCheck. Its boundary was known, so a
    // device can answer bad-frame with the request's command and sequence.
    struct DamagedFrame {
        std::uint16_t command = 0;
        std::uint32_t sequence = 0;
    };
    const std::optional<DamagedFrame>& lastDamaged() const { return m_lastDamaged; }

private:
    // Makes room for `size` more bytes after m_end: moves the unread bytes to the front, and
    // grows the storage only when that is not enough (it never shrinks: no allocation per frame).
    void reserveTail(qsizetype size);

    std::vector<char> m_storage;
    qsizetype m_begin = 0;       // first unread byte
    qsizetype m_end = 0;         // one past the last received byte
    qsizetype m_writeStart = -1; // where prepareWrite()'s room begins; -1 when none is open
    std::optional<Error> m_poisoned;
    std::optional<DamagedFrame> m_lastDamaged;
};

} // namespace keyline::protocol
