#pragma once

// One row per attempt of a provisioning step on a device, in the order they ran. Each result
// commits on its own before the engine starts the next step, so after a power cut the
// history shows exactly how far a device got.

#include "common/result.h"

#include <QString>
#include <optional>
#include <vector>

namespace keyline::db {

class Database;

enum class StepOutcome { Pass, Fail };

struct StepResult {
    qint64 id = 0;
    QString deviceId;
    QString step;    // the engine's step name, e.g. "identify", "burn-image-key"
    int attempt = 0; // 1 for the first attempt of this step on this device
    StepOutcome outcome = StepOutcome::Fail;
    QString detail; // what happened, for people; never a secret
    QString recordedAt;
};

class StepResultRepository {
public:
    explicit StepResultRepository(Database& db)
        : m_db(db) {}

    // NotFound for an unknown device; InvalidArgument for an empty step name.
    Result<StepResult> record(const QString& deviceId, const QString& step, StepOutcome outcome,
                              const QString& detail);
    Result<std::vector<StepResult>> forDevice(const QString& deviceId); // in order run
    Result<std::optional<StepResult>> latest(const QString& deviceId, const QString& step);

private:
    Database& m_db;
};

} // namespace keyline::db
