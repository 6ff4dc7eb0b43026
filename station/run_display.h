#pragma once

// What `keyline run` shows while it works and when it ends: on a terminal one status line per
// slot and a line per finished device; with --json one JSON object per event and a final
// report object (docs/operator-guide.md, "keyline run --json").

#include "provisioning/production_run.h"
#include "station/cli.h"

#include <map>
#include <mutex>

namespace keyline::station {

class RunDisplay {
public:
    RunDisplay(Cli& cli, bool json);

    // Called from the slots' threads.
    void onEvent(const provisioning::JobEvent& event);
    void printReport(const provisioning::RunSummary& summary, const QString& orderId);

private:
    void printJson(const provisioning::JobEvent& event);
    void printText(const provisioning::JobEvent& event);

    Cli& m_cli;
    bool m_json;
    std::mutex m_mutex;
};

} // namespace keyline::station
