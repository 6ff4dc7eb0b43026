#pragma once

// The look of the station: large type, big touch targets, high contrast, and a glyph next to
// every colour so that no state is told by colour alone (gloves, a step away, colour-blind
// workers). One place, so every screen stays consistent.

#include <QColor>
#include <QIcon>
#include <QString>

class QApplication;
class QWidget;

namespace keyline::ui {

enum class Glyph { Pass, Fail, Working, Waiting, Attention, Production, Development };

namespace style {
inline const QColor kPass{0x0b, 0x6e, 0x2a};      // dark green: white text passes WCAG AA
inline const QColor kFail{0xb0, 0x00, 0x20};      // dark red
inline const QColor kWorking{0x0d, 0x47, 0xa1};   // dark blue
inline const QColor kAttention{0xff, 0xd6, 0x00}; // yellow, with black text
inline const QColor kProduction{0xd8, 0x43, 0x15};
inline const QColor kDevelopment{0x45, 0x5a, 0x64};
inline constexpr int kTouch = 56; // minimum button height, px
} // namespace style

// Fusion style, palette, fonts and the style sheet for the whole application.
void applyStationStyle(QApplication& app);

// A drawn glyph (no image files): a filled circle with a check, cross, clock, dots or "!".
QIcon glyphIcon(Glyph glyph, int size = 48);

// A widget's role for the style sheet ("primary", "danger", "badge-prod", ...).
void setStyleRole(QWidget* widget, const QString& role);

} // namespace keyline::ui
