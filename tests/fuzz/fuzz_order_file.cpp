// libFuzzer target for the order file parser (station/order_file.cpp): the file a factory's
// ERP hands `keyline order import`. Seeds: tests/fuzz/corpus/fuzz_order_file/.
//
// Properties checked beyond "no crash":
//  - what parses obeys every bound the format documents: 1 to kMaxOrdersPerFile orders, unique
//    valid IDs and customers, quantities 1 to kMaxOrderQuantity, absolute clean paths;
//  - what parses writes back to a file that parses to the same orders (from any folder, as
//    the paths are absolute);
//  - a refusal is BadInput, one line, and names an order inside the file (or the file).

#include "station/order_file.h"

#include <QDir>
#include <QSet>
#include <cstdint>
#include <cstdlib>

using namespace keyline::station;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > std::size_t(kMaxOrderFileBytes) + 16)
        return 0;
    const QByteArray input(reinterpret_cast<const char*>(data), qsizetype(size));
    auto parsed = parseOrderFile(input, QStringLiteral("/srv/erp/today"));
    if (!parsed.ok()) {
        const keyline::Error& e = parsed.error();
        if (e.code() != keyline::ErrorCode::BadInput || e.detail() < 0 ||
            e.detail() > kMaxOrdersPerFile || e.toString().contains(QLatin1Char('\n')))
            std::abort();
        return 0;
    }
    if (parsed->isEmpty() || parsed->size() > kMaxOrdersPerFile)
        std::abort();
    QSet<QString> ids;
    for (const OrderSpec& o : *parsed) {
        if (checkOrderFields(o) || ids.contains(o.id))
            std::abort();
        ids.insert(o.id);
        for (const QString& path : {o.packagePath, o.keystorePath})
            if (!QDir::isAbsolutePath(path) || QDir::cleanPath(path) != path)
                std::abort();
    }
    auto again = parseOrderFile(encodeOrderFile(*parsed), QStringLiteral("/elsewhere"));
    if (!again.ok() || *again != *parsed)
        std::abort();
    return 0;
}
