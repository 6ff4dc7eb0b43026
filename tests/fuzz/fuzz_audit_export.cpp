// libFuzzer target for the audit export parser and chain check (db/audit_export_format.cpp):
// the part of `keyline audit verify` that reads a file an auditor was handed.
// Seeds: tests/fuzz/corpus/fuzz_audit_export/ (a JSONL and a CSV export).
//
// Properties checked beyond "no crash":
//  - whatever parses re-encodes to exactly the input (one content, one encoding), so the bytes
//    the signature covers are the records the chain check saw;
//  - the chain check of whatever parses returns, with a line number inside the file when it
//    reports a position.

#include "db/audit_export_format.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 256 * 1024)
        return 0;
    const QByteArray input(reinterpret_cast<const char*>(data), qsizetype(size));
    auto parsed = keyline::db::parseAuditExport(input);
    if (!parsed.ok()) {
        if (parsed.error().detail() < 1)
            std::abort(); // every parse error names a line
        return 0;
    }
    if (keyline::db::encodeAuditExport(*parsed) != input)
        std::abort(); // the parser accepted something the writer would not produce
    auto chain = keyline::db::verifyAuditExportChain(*parsed);
    if (!chain.ok() && (chain.error().detail() < 1 || chain.error().detail() > input.count('\n')))
        std::abort();
    return 0;
}
