#pragma once

#include <QtGlobal>
#include <cstdint>

namespace keyline::protocol {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial and final XOR 0xFFFFFFFF), the
// frame check of the device protocol. Chosen over zlib's CRC-32 because CPUs (SSE 4.2, ARMv8
// CRC) and many microcontrollers compute it in hardware, so it costs less than copying the
// bytes. Continue a running check by passing the previous result: crc32c(crc32c(0, a), b) is
// the check of a followed by b.
std::uint32_t crc32c(std::uint32_t previous, const char* data, qsizetype size);

// The same, byte by byte from a table, never in hardware: the reference for tests.
std::uint32_t crc32cReference(std::uint32_t previous, const char* data, qsizetype size);

} // namespace keyline::protocol
