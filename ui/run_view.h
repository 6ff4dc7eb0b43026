#pragma once

// Run: a tile per slot, the session's totals (done, failed, remaining, units per hour) and
// Start / Pause / Stop. Fed only by RunController's signals; it never touches the engine.

#include "station/order_report.h"
#include "ui/run_controller.h"

#include <QMap>
#include <QTimer>
#include <QWidget>

class QGridLayout;
class QLabel;
class QPushButton;

namespace keyline::ui {

class SlotTile;

class RunView : public QWidget {
    Q_OBJECT
public:
    explicit RunView(RunController& controller, QWidget* parent = nullptr);

    // The order to run, with its counts from the database.
    void setOrder(const station::OrderSummary& summary);
    void setRemaining(int remaining);
    QList<SlotTile*> tiles() const;
    SlotTile* tile(const QString& port) const;

Q_SIGNALS:
    void startRequested();
    void stopRequested(); // back to the orders

private:
    SlotTile* ensureTile(const QString& port);
    void layoutTiles();
    void updateControls();
    void updateTotals();
    QLabel* total(const QString& name, const QString& caption, QWidget* parent);

    RunController& m_controller;
    QLabel* m_orderLabel;
    QLabel* m_badge;
    QLabel* m_status;
    QGridLayout* m_grid;
    QMap<QString, SlotTile*> m_tiles;
    QLabel* m_done;
    QLabel* m_failed;
    QLabel* m_remaining;
    QLabel* m_rate;
    QPushButton* m_start;
    QPushButton* m_pause;
    QPushButton* m_stop;
    QTimer m_clock;
    int m_remainingCount = 0;
};

} // namespace keyline::ui
