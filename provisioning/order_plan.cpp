#include "provisioning/order_plan.h"

namespace keyline::provisioning {

Result<ExpectedBoot> expectedBootOf(const flashing::FlashImage& package) {
    KL_TRY_ASSIGN(const firmware::PackageLayout layout, firmware::parsePackage(package.bytes));
    const firmware::PackageManifest& m = layout.manifest;
    ExpectedBoot e;
    e.packageSha256 = package.sha256;
    // The measurement covers the package's signed part: the header and the manifest, which
    // start the file.
    const firmware::Span& manifest = layout.spans.manifest;
    e.measurement = flashing::sha256(package.bytes.left(manifest.offset + manifest.size));
    e.applicationSha256 = m.app.appSha256;
    e.osVersion = m.osVersion;
    e.appVersion = m.app.version;
    e.osCounter = m.osCounter;
    e.appCounter = m.app.counter;
    for (const firmware::OsComponentEntry& c : m.components)
        e.components.push_back({c.name, c.version, c.sha256});
    return e;
}

} // namespace keyline::provisioning
