//! One description per output table ([`TableSpec`]): every column once, with its name, its
//! heading on the page, its number format, whether the page shows it, its role in small-cell
//! suppression, and how to read (and blank) it on the typed row. The CSV header and cells,
//! the Parquet columns, the page's table, the formats and the suppression pass all come from
//! it; nothing downstream looks a column up by name or position.
//!
//! Adding a table: a row type, a `spec()` listing its columns, a compute function (see
//! ARCHITECTURE.md).

use super::cell::{Cell, Kind, Table};
use std::ops::Range;
use std::sync::Arc;

/// How a column reads on the page (the CSV always has full precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A label, left-aligned.
    Text,
    /// A whole number.
    Count,
    /// Two decimals.
    Number,
    /// A p- or q-value: `< 0.001` or three decimals.
    P,
    /// Degrees of freedom: whole when whole, else one decimal.
    Df,
    /// A proportion shown as a percentage: `0.83` reads `83%`.
    Rate,
    /// The `suppressed` flag: `suppressed` or nothing.
    Flag,
}

impl Format {
    /// A cell as a reader sees it.
    pub fn show(self, cell: &Cell) -> String {
        match cell {
            Cell::Text(t) => t.clone(),
            Cell::Int(n) => n.to_string(),
            Cell::Bool(b) if self == Format::Flag => if *b { "suppressed" } else { "" }.to_string(),
            Cell::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
            Cell::Date(d) => crate::dates::iso(*d),
            Cell::Empty => String::new(),
            Cell::Num(x) => match self {
                Format::P if *x < 0.001 => "< 0.001".into(),
                Format::P => format!("{x:.3}"),
                Format::Df => {
                    let r = x.round();
                    if (x - r).abs() < 1e-9 {
                        format!("{r:.0}")
                    } else {
                        format!("{x:.1}")
                    }
                }
                Format::Rate => format!("{:.0}%", 100.0 * x),
                _ => format!("{x:.2}"),
            },
        }
    }
}

/// A column's part in small-cell suppression (SPEC §7, §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Identifies the row (instrument, quarter, …): never blanked.
    Key,
    /// A grouping column whose value `All` marks a margin: the row sums the rows that differ
    /// from it only in this column (SPEC §10 S13). A key, never blanked.
    Group,
    /// A count, part of each of the named counts (≤ each); blanked when from 1 to
    /// `below − 1`, and in the per-row pass when any of the named counts is.
    Count(&'static [&'static str]),
    /// A statistic computed from the named counts: blanked when any of them is.
    Stat(&'static [&'static str]),
    /// Not computed from a count of this row (a threshold, a model-wide test, a note).
    Fixed,
    /// The `suppressed` flag: set when the pass blanks anything in the row.
    Flag,
}

/// How a column is read from the typed row, and blanked in it.
pub enum Access<R> {
    Count(fn(&R) -> Option<u64>, fn(&mut R) -> &mut Option<u64>),
    Number(fn(&R) -> Option<f64>, fn(&mut R) -> &mut Option<f64>),
    /// Text computed from the row (and whatever the column captured, e.g. the period).
    Text(Arc<dyn Fn(&R) -> String + Send + Sync>),
    Flag(fn(&R) -> bool, fn(&mut R) -> &mut bool),
    /// A cell of the given kind computed from the row (an integer that is not a count, a
    /// date, a yes/no that is not the `suppressed` flag): read only, never blanked by the
    /// suppression pass (the function returns [`Cell::Empty`] where the row has no value).
    Typed(Kind, Arc<dyn Fn(&R) -> Cell + Send + Sync>),
}

impl<R> Clone for Access<R> {
    fn clone(&self) -> Self {
        match self {
            Access::Count(g, s) => Access::Count(*g, *s),
            Access::Number(g, s) => Access::Number(*g, *s),
            Access::Text(f) => Access::Text(Arc::clone(f)),
            Access::Flag(g, s) => Access::Flag(*g, *s),
            Access::Typed(k, f) => Access::Typed(*k, Arc::clone(f)),
        }
    }
}

/// [`Access::Count`] of a field `Option<u64>` of a row type.
macro_rules! count {
    ($row:ty, $field:ident) => {
        $crate::table::spec::Access::Count(|r: &$row| r.$field, |r: &mut $row| &mut r.$field)
    };
}
/// [`Access::Number`] of a field `Option<f64>` of a row type.
macro_rules! number {
    ($row:ty, $field:ident) => {
        $crate::table::spec::Access::Number(|r: &$row| r.$field, |r: &mut $row| &mut r.$field)
    };
}
/// [`Access::Flag`] of a field `bool` of a row type.
macro_rules! flag {
    ($row:ty, $field:ident) => {
        $crate::table::spec::Access::Flag(|r: &$row| r.$field, |r: &mut $row| &mut r.$field)
    };
}
/// [`Access::Text`] of a field `String` of a row type.
macro_rules! text {
    ($row:ty, $field:ident) => {
        $crate::table::spec::Access::Text(std::sync::Arc::new(|r: &$row| r.$field.clone()))
    };
}
pub(crate) use {count, flag, number, text};

/// One column of a table.
pub struct Column<R> {
    pub name: String,
    pub heading: String,
    pub format: Format,
    pub role: Role,
    /// Shown in the page's table.
    pub shown: bool,
    /// Written to the CSV and Parquet files (a hidden count exists for suppression only).
    pub written: bool,
    /// A count not written but implied by what is (a percentage times its published
    /// denominator): disclosure control treats it as published.
    pub implied: bool,
    /// The key column along which this count repeats unchanged (n_episodes of a cell is the
    /// same in every instrument's row): the copies are one count to disclosure control.
    pub same_across: Option<&'static str>,
    pub access: Access<R>,
}

impl<R> Column<R> {
    /// A column with the defaults of its kind of value: counts are [`Role::Count`],
    /// numbers [`Role::Fixed`] until `.from()` says what they are computed from, text is a
    /// [`Role::Key`]; the heading comes from [`heading`]; shown and written.
    pub fn new(name: impl Into<String>, access: Access<R>) -> Column<R> {
        let name = name.into();
        let (format, role) = match access {
            Access::Count(..) => (Format::Count, Role::Count(&[])),
            Access::Number(..) => (Format::Number, Role::Fixed),
            Access::Text(_) => (Format::Text, Role::Key),
            Access::Flag(..) => (Format::Flag, Role::Flag),
            Access::Typed(Kind::Int, _) => (Format::Count, Role::Key),
            Access::Typed(Kind::Float, _) => (Format::Number, Role::Key),
            Access::Typed(..) => (Format::Text, Role::Key),
        };
        Column {
            heading: heading(&name),
            name,
            format,
            role,
            // The page marks each withheld value; the row's flag is for the files.
            shown: !matches!(access, Access::Flag(..)),
            written: true,
            implied: false,
            same_across: None,
            access,
        }
    }

    /// A column of `kind` whose cell `cell(row)` computes (see [`Access::Typed`]); a key
    /// until a role is given.
    pub fn typed(
        name: impl Into<String>,
        kind: Kind,
        cell: impl Fn(&R) -> Cell + Send + Sync + 'static,
    ) -> Column<R> {
        Column::new(name, Access::Typed(kind, Arc::new(cell)))
    }

    /// What the column holds in the typed files.
    pub fn kind(&self) -> Kind {
        match &self.access {
            Access::Count(..) => Kind::Int,
            Access::Number(..) => Kind::Float,
            Access::Text(_) => Kind::Text,
            Access::Flag(..) => Kind::Bool,
            Access::Typed(k, _) => *k,
        }
    }

    /// A key column whose text is the same on every row (the period, the follow-up point).
    pub fn constant(name: &str, value: &str) -> Column<R> {
        let value = value.to_string();
        Column::new(name, Access::Text(Arc::new(move |_| value.clone())))
    }

    pub fn format(mut self, f: Format) -> Self {
        self.format = f;
        self
    }

    /// A count blanked with any of `counts` (besides being small itself).
    pub fn within(mut self, counts: &'static [&'static str]) -> Self {
        self.role = Role::Count(counts);
        self
    }

    /// A statistic computed from `counts`.
    pub fn from(mut self, counts: &'static [&'static str]) -> Self {
        self.role = Role::Stat(counts);
        self
    }

    /// Not computed from a count of its row: never blanked.
    pub fn fixed(mut self) -> Self {
        self.role = Role::Fixed;
        self
    }

    /// Left out of the page's table (still in the files).
    pub fn off_page(mut self) -> Self {
        self.shown = false;
        self
    }

    /// In no output: a count kept for suppression only.
    pub fn hidden(mut self) -> Self {
        self.shown = false;
        self.written = false;
        self
    }

    /// Not written, but implied by what is written (e.g. a percentage and its denominator).
    pub fn implied(mut self) -> Self {
        self = self.hidden();
        self.implied = true;
        self
    }

    /// A grouping column: its value `All` marks a margin.
    pub fn group(mut self) -> Self {
        self.role = Role::Group;
        self
    }

    /// The value repeats unchanged along key column `key` (see [`Column::same_across`]).
    pub fn same_across(mut self, key: &'static str) -> Self {
        self.same_across = Some(key);
        self
    }

    /// Whether disclosure control sees this count: written or implied.
    pub fn published_count(&self) -> bool {
        matches!(self.role, Role::Count(_)) && (self.written || self.implied)
    }

    /// The cell of row `r`.
    pub fn cell(&self, r: &R) -> Cell {
        match &self.access {
            Access::Count(get, _) => Cell::count(get(r)),
            Access::Number(get, _) => Cell::opt(get(r)),
            Access::Text(get) => Cell::Text(get(r)),
            Access::Flag(get, _) => Cell::Bool(get(r)),
            Access::Typed(_, get) => get(r),
        }
    }

    /// Whether row `r` has a value here that suppression could blank.
    fn has_value(&self, r: &R) -> bool {
        match &self.access {
            Access::Count(get, _) => get(r).is_some(),
            Access::Number(get, _) => get(r).is_some_and(f64::is_finite),
            _ => false,
        }
    }

    fn blank(&self, r: &mut R) {
        match &self.access {
            Access::Count(_, set) => *set(r) = None,
            Access::Number(_, set) => *set(r) = None,
            _ => {}
        }
    }

    /// The count of row `r` (`None` for a column that is not a count, or an empty one).
    pub fn count(&self, r: &R) -> Option<u64> {
        match &self.access {
            Access::Count(get, _) => get(r),
            _ => None,
        }
    }
}

/// Parts that add up to a total in the same row (improved + unchanged + deteriorated =
/// paired): when exactly one part is blank, the smallest other non-zero part goes too, so the
/// blank cannot be recovered by subtraction within the row.
#[derive(Debug, Clone, Copy)]
pub struct Parts(pub &'static [&'static str]);

/// An additive relation within one row, `total = Σ parts`, over count columns and named
/// unknowns that no file shows (e.g. abstinent at both times, in the 2 × 2 table behind
/// McNemar's test): disclosure control's knowledge of how a row's counts hang together.
#[derive(Debug, Clone, Copy)]
pub struct RowRelation {
    pub total: &'static str,
    pub parts: &'static [&'static str],
}

/// A table as the page shows it: headings, which columns are text, formatted cells.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PageTable {
    pub id: String,
    pub title: String,
    pub caption: String,
    pub header: Vec<String>,
    /// Whether each column holds text (left-aligned) rather than numbers.
    pub text: Vec<bool>,
    pub rows: Vec<Vec<String>>,
    /// Per cell: withheld by small-cell protection (shown as [`WITHHELD`]).
    pub withheld: Vec<Vec<bool>>,
    /// What the page says when `rows` is empty.
    pub empty: String,
}

/// How the page shows a value withheld by small-cell protection.
pub const WITHHELD: &str = "*";

/// The description of one output table.
pub struct TableSpec<R> {
    /// File stem (`outcomes` → outcomes.csv, outcomes.parquet) and the page's anchor.
    pub name: &'static str,
    /// The page's heading for the table.
    pub title: String,
    /// The page's explanation of the table.
    pub caption: String,
    pub columns: Vec<Column<R>>,
    /// Parts of a total in one row (see [`Parts`]).
    pub parts: Vec<Parts>,
    /// Additive relations within a row besides the parts (see [`RowRelation`]).
    pub relations: Vec<RowRelation>,
    /// What the page says when the table has no row.
    pub empty: String,
}

/// What the page says of a table with no row, unless its description says otherwise.
pub const NO_ROWS: &str = "No rows for this period.";

impl<R> TableSpec<R> {
    pub fn new(name: &'static str, title: &str, caption: &str) -> TableSpec<R> {
        TableSpec {
            name,
            title: title.to_string(),
            caption: caption.to_string(),
            columns: Vec::new(),
            parts: Vec::new(),
            relations: Vec::new(),
            empty: NO_ROWS.to_string(),
        }
    }

    /// What the page says when the table has no row (e.g. why it is withheld).
    pub fn when_empty(mut self, text: &str) -> Self {
        self.empty = text.to_string();
        self
    }

    pub fn column(mut self, c: Column<R>) -> Self {
        self.columns.push(c);
        self
    }

    pub fn columns(mut self, cs: impl IntoIterator<Item = Column<R>>) -> Self {
        self.columns.extend(cs);
        self
    }

    pub fn parts(mut self, p: Parts) -> Self {
        self.parts.push(p);
        self
    }

    /// `total = Σ parts` in every row (names of count columns or of unknowns no file shows).
    pub fn relation(mut self, total: &'static str, parts: &'static [&'static str]) -> Self {
        self.relations.push(RowRelation { total, parts });
        self
    }

    /// The position of the column named `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    fn written(&self) -> impl Iterator<Item = &Column<R>> {
        self.columns.iter().filter(|c| c.written)
    }

    /// The table as the files hold it: the written columns.
    pub fn render(&self, rows: &[R]) -> Table {
        Table {
            header: self.written().map(|c| c.name.clone()).collect(),
            kinds: self.written().map(Column::kind).collect(),
            rows: rows
                .iter()
                .map(|r| self.written().map(|c| c.cell(r)).collect())
                .collect(),
        }
    }

    /// The table as the page shows it: the shown columns, formatted; a value withheld by
    /// small-cell protection (`withheld(row, column)`) reads [`WITHHELD`] instead of empty.
    pub fn page(&self, rows: &[R], withheld: &dyn Fn(usize, &str) -> bool) -> PageTable {
        let shown: Vec<&Column<R>> = self.columns.iter().filter(|c| c.shown).collect();
        let mut marks = Vec::with_capacity(rows.len());
        let cells = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let (texts, m): (Vec<String>, Vec<bool>) = shown
                    .iter()
                    .map(|c| {
                        if withheld(i, &c.name) {
                            (WITHHELD.to_string(), true)
                        } else {
                            (c.format.show(&c.cell(r)), false)
                        }
                    })
                    .unzip();
                marks.push(m);
                texts
            })
            .collect();
        PageTable {
            id: self.name.to_string(),
            title: self.title.clone(),
            caption: self.caption.clone(),
            header: shown.iter().map(|c| c.heading.clone()).collect(),
            text: shown.iter().map(|c| c.format == Format::Text).collect(),
            rows: cells,
            withheld: marks,
            empty: self.empty.clone(),
        }
    }

    /// Small-cell suppression of one row (SPEC §7): counts from 1 to `below − 1` are blanked,
    /// then every count and statistic that depends on a blanked count (to a fixed point),
    /// then one more part of any [`Parts`] with a single blank; the flag is set when anything
    /// written was blanked (it is never cleared, so the pass is idempotent).
    pub fn suppress(&self, r: &mut R, below: u64) {
        let had: Vec<bool> = self.columns.iter().map(|c| c.has_value(r)).collect();
        let mut blank: Vec<bool> = self
            .columns
            .iter()
            .map(|c| {
                matches!(c.role, Role::Count(_)) && c.count(r).is_some_and(|n| n >= 1 && n < below)
            })
            .collect();
        self.propagate(&mut blank);
        for p in &self.parts {
            let idx: Vec<usize> = p.0.iter().filter_map(|n| self.position(n)).collect();
            let empty = |i: usize, blank: &[bool]| blank[i] || !had[i];
            if idx.iter().filter(|&&i| empty(i, &blank)).count() != 1 {
                continue;
            }
            // The smallest other non-zero part (the first of equals).
            let mut best: Option<(u64, usize)> = None;
            for &i in &idx {
                if let Some(n) = self.columns[i].count(r).filter(|&n| n > 0 && !blank[i]) {
                    if best.is_none_or(|(m, _)| n < m) {
                        best = Some((n, i));
                    }
                }
            }
            if let Some((_, i)) = best {
                blank[i] = true;
            }
        }
        self.propagate(&mut blank);
        let mut any = false;
        for (i, c) in self.columns.iter().enumerate() {
            if blank[i] {
                any |= c.written && had[i];
                c.blank(r);
            }
        }
        for c in &self.columns {
            if let Access::Flag(_, set) = &c.access {
                *set(r) |= any;
            }
        }
    }

    /// Applies disclosure control's decision to one row: blanks the counts marked in `blank`
    /// (by column position), and any count no output shows that is from 1 to `below − 1`
    /// (its ratio would reveal it), then every statistic computed from a blanked count;
    /// sets the flag when anything written was blanked.
    pub fn apply(&self, r: &mut R, blank: &[bool], below: u64) -> Vec<String> {
        let had: Vec<bool> = self.columns.iter().map(|c| c.has_value(r)).collect();
        let mut blank: Vec<bool> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                blank.get(i).copied().unwrap_or(false)
                    || (!c.written
                        && !c.implied
                        && matches!(c.role, Role::Count(_))
                        && c.count(r).is_some_and(|n| n >= 1 && n < below))
            })
            .collect();
        loop {
            let mut changed = false;
            for (i, c) in self.columns.iter().enumerate() {
                if let Role::Stat(deps) = c.role {
                    if !blank[i]
                        && deps
                            .iter()
                            .any(|d| self.position(d).is_some_and(|j| blank[j]))
                    {
                        blank[i] = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut withheld = Vec::new();
        for (i, c) in self.columns.iter().enumerate() {
            if blank[i] {
                if c.written && had[i] {
                    withheld.push(c.name.clone());
                }
                c.blank(r);
            }
        }
        for c in &self.columns {
            if let Access::Flag(_, set) = &c.access {
                *set(r) |= !withheld.is_empty();
            }
        }
        withheld
    }

    /// Marks every count and statistic depending on a marked count, to a fixed point.
    fn propagate(&self, blank: &mut [bool]) {
        loop {
            let mut changed = false;
            for (i, c) in self.columns.iter().enumerate() {
                let deps = match c.role {
                    Role::Count(d) | Role::Stat(d) => d,
                    _ => continue,
                };
                if !blank[i]
                    && deps
                        .iter()
                        .any(|d| self.position(d).is_some_and(|j| blank[j]))
                {
                    blank[i] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }
}

/// A table as the files hold it (`<name>.csv`, `<name>.parquet`): its rows as typed cells.
pub trait Tabular: Sync {
    /// File stem (and the page's anchor of a [`Published`] table).
    fn name(&self) -> &'static str;
    /// The number of rows the files hold.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The cells of the rows at `range` as the files hold them (a large table is written a
    /// part at a time).
    fn rows(&self, range: Range<usize>) -> Table;
    /// The cells the files hold.
    fn table(&self) -> Table {
        self.rows(0..self.len())
    }
}

/// A table ready to publish: the files, and the page.
pub trait Published: Tabular {
    /// The table as the page shows it, marking the values `withheld(row, column)`.
    fn page(&self, withheld: &dyn Fn(usize, &str) -> bool) -> PageTable;
}

impl<R: Sync> Tabular for (TableSpec<R>, &[R]) {
    fn name(&self) -> &'static str {
        self.0.name
    }

    fn len(&self) -> usize {
        self.1.len()
    }

    fn rows(&self, range: Range<usize>) -> Table {
        self.0.render(&self.1[range])
    }
}

impl<R: Sync> Published for (TableSpec<R>, &[R]) {
    fn page(&self, withheld: &dyn Fn(usize, &str) -> bool) -> PageTable {
        self.0.page(self.1, withheld)
    }
}

/// A table's counts as disclosure control sees them: rows identified by their key columns,
/// the published counts (written or implied) of each row, and how they hang together.
pub trait Counted {
    /// File stem.
    fn name(&self) -> &'static str;
    /// Names of the key and grouping columns, in column order.
    fn key_names(&self) -> Vec<&str>;
    /// Which of those are grouping columns (`All` marks a margin).
    fn groups(&self) -> Vec<bool>;
    /// Names of the published counts (written or implied), in column order.
    fn count_names(&self) -> Vec<&str>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The key of row `row`.
    fn key(&self, row: usize) -> Vec<String>;
    /// Count `count` (an index into [`Counted::count_names`]) of row `row`.
    fn value(&self, row: usize, count: usize) -> Option<u64>;
    /// For each count, the key position along which it repeats unchanged.
    fn same_across(&self) -> Vec<Option<usize>>;
    /// For each count, the counts it is part of (indices into the counts).
    fn within(&self) -> Vec<Vec<usize>>;
    /// For each implied count, the counts whose blank hides it (the other counts of the
    /// written statistics it is read from: a percentage is blanked with its denominator, and
    /// the count it implied goes with it); empty for a written count.
    fn hidden_with(&self) -> Vec<Vec<usize>>;
    /// For each count, whether it is implied (shown only through a written statistic, see
    /// [`Column::implied`]) rather than written.
    fn implied(&self) -> Vec<bool>;
    /// The row relations (see [`RowRelation`]).
    fn relations(&self) -> &[RowRelation];
    /// Blanks the marked counts of row `row` and what follows from them (see
    /// [`TableSpec::apply`]); returns the written columns withheld.
    fn apply(&mut self, row: usize, blank: &[bool], below: u64) -> Vec<String>;
}

/// A table's description with its rows, mutable: what disclosure control works on.
pub struct Rows<'a, R> {
    pub spec: TableSpec<R>,
    pub rows: &'a mut [R],
}

impl<R> Rows<'_, R> {
    fn keys(&self) -> Vec<&Column<R>> {
        self.spec
            .columns
            .iter()
            .filter(|c| matches!(c.role, Role::Key | Role::Group))
            .collect()
    }

    fn counts(&self) -> Vec<&Column<R>> {
        self.spec
            .columns
            .iter()
            .filter(|c| c.published_count())
            .collect()
    }
}

impl<R> Counted for Rows<'_, R> {
    fn name(&self) -> &'static str {
        self.spec.name
    }

    fn key_names(&self) -> Vec<&str> {
        self.keys().iter().map(|c| c.name.as_str()).collect()
    }

    fn groups(&self) -> Vec<bool> {
        self.keys().iter().map(|c| c.role == Role::Group).collect()
    }

    fn count_names(&self) -> Vec<&str> {
        self.counts().iter().map(|c| c.name.as_str()).collect()
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn key(&self, row: usize) -> Vec<String> {
        self.keys()
            .iter()
            .map(|c| match c.cell(&self.rows[row]) {
                Cell::Text(t) => t,
                Cell::Int(n) => n.to_string(),
                Cell::Date(d) => crate::dates::iso(d),
                _ => String::new(),
            })
            .collect()
    }

    fn value(&self, row: usize, count: usize) -> Option<u64> {
        self.counts()[count].count(&self.rows[row])
    }

    fn same_across(&self) -> Vec<Option<usize>> {
        let keys = self.key_names();
        self.counts()
            .iter()
            .map(|c| {
                c.same_across
                    .and_then(|k| keys.iter().position(|n| *n == k))
            })
            .collect()
    }

    fn within(&self) -> Vec<Vec<usize>> {
        let names = self.count_names();
        self.counts()
            .iter()
            .map(|c| match c.role {
                Role::Count(parents) => parents
                    .iter()
                    .filter_map(|p| names.iter().position(|n| n == p))
                    .collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    fn hidden_with(&self) -> Vec<Vec<usize>> {
        let names = self.count_names();
        self.counts()
            .iter()
            .map(|c| {
                if !c.implied {
                    return Vec::new();
                }
                let mut out: Vec<usize> = Vec::new();
                for s in self.spec.columns.iter().filter(|s| s.written) {
                    if let Role::Stat(from) = s.role {
                        if from.contains(&c.name.as_str()) {
                            out.extend(
                                from.iter()
                                    .filter(|f| **f != c.name)
                                    .filter_map(|f| names.iter().position(|n| n == f)),
                            );
                        }
                    }
                }
                out.sort_unstable();
                out.dedup();
                out
            })
            .collect()
    }

    fn implied(&self) -> Vec<bool> {
        self.counts().iter().map(|c| c.implied).collect()
    }

    fn relations(&self) -> &[RowRelation] {
        &self.spec.relations
    }

    fn apply(&mut self, row: usize, blank: &[bool], below: u64) -> Vec<String> {
        // From positions among the counts to positions among all columns.
        let mut by_column = vec![false; self.spec.columns.len()];
        let mut k = 0;
        for (i, c) in self.spec.columns.iter().enumerate() {
            if c.published_count() {
                by_column[i] = blank.get(k).copied().unwrap_or(false);
                k += 1;
            }
        }
        self.spec.apply(&mut self.rows[row], &by_column, below)
    }
}

/// A column's heading on the page: short words for the common columns, else the name with
/// spaces for underscores (so a reader can still find it in the CSV).
pub fn heading(name: &str) -> String {
    match name {
        "n_paired" => "paired",
        "followup_rate" => "follow-up rate",
        "change_mean" => "mean change",
        "followup_mean" => "follow-up mean",
        "change_ci_low" => "95% CI low",
        "change_ci_high" => "95% CI high",
        "p_t" => "p (t-test)",
        "q_bh" => "q (BH)",
        "g_av" => "g_av",
        "pct_improved" => "% reliably improved",
        "pct_recovered" => "% reliably recovered",
        "pct_remission" => "% remission",
        other => return other.replace('_', " "),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Default, PartialEq)]
    struct Row {
        label: String,
        n: Option<u64>,
        a: Option<u64>,
        b: Option<u64>,
        c: Option<u64>,
        pct_a: Option<f64>,
        mean: Option<f64>,
        threshold: Option<f64>,
        suppressed: bool,
    }

    fn spec() -> TableSpec<Row> {
        TableSpec::new("t", "T", "")
            .column(Column::constant("period", "2026Q3").off_page())
            .column(Column::new("label", text!(Row, label)))
            .column(Column::new("n", count!(Row, n)))
            .column(Column::new("a", count!(Row, a)).within(&["n"]))
            .column(Column::new("b", count!(Row, b)).within(&["n"]))
            .column(Column::new("c", count!(Row, c)).within(&["n"]).hidden())
            .column(
                Column::new("pct_a", number!(Row, pct_a))
                    .from(&["a", "n"])
                    .format(Format::Rate),
            )
            .column(Column::new("mean", number!(Row, mean)).from(&["n"]))
            .column(Column::new("threshold", number!(Row, threshold)))
            .column(Column::new("suppressed", flag!(Row, suppressed)))
            .parts(Parts(&["a", "b", "c"]))
    }

    fn row(n: u64, a: u64, b: u64, c: u64) -> Row {
        Row {
            label: "x".into(),
            n: Some(n),
            a: Some(a),
            b: Some(b),
            c: Some(c),
            pct_a: Some(a as f64 / n as f64),
            mean: Some(1.5),
            threshold: Some(6.0),
            suppressed: false,
        }
    }

    #[test]
    fn files_and_page_come_from_the_description() {
        let s = spec();
        let t = s.render(&[row(40, 20, 15, 5)]);
        assert_eq!(
            t.header,
            [
                "period",
                "label",
                "n",
                "a",
                "b",
                "pct_a",
                "mean",
                "threshold",
                "suppressed"
            ]
        );
        assert_eq!(t.rows[0][0], Cell::text("2026Q3"));
        let p = s.page(&[row(40, 20, 15, 5)], &|_, c| c == "mean");
        assert_eq!(p.header[0], "label");
        // The flag column stays off the page (the withheld cells say what is hidden).
        assert_eq!(p.text, [true, false, false, false, false, false, false]);
        assert_eq!(p.rows[0][4], "50%");
        assert_eq!(p.rows[0][5], WITHHELD);
        assert!(p.withheld[0][5]);
    }

    #[test]
    fn suppression_follows_the_roles() {
        let s = spec();
        // A small total blanks every count and statistic built on it; the threshold stays.
        let mut r = row(7, 3, 2, 2);
        s.suppress(&mut r, 11);
        assert_eq!(
            (r.n, r.a, r.b, r.c, r.pct_a, r.mean),
            (None, None, None, None, None, None)
        );
        assert_eq!(r.threshold, Some(6.0));
        assert!(r.suppressed);
        // One small part: it and the smallest other non-zero part go, with their statistics.
        let mut r = row(60, 40, 16, 4);
        s.suppress(&mut r, 11);
        assert_eq!((r.a, r.b, r.c), (Some(40), None, None));
        assert_eq!(
            (r.n, r.pct_a, r.mean),
            (Some(60), Some(40.0 / 60.0), Some(1.5))
        );
        assert!(r.suppressed);
        // Zeros reveal nobody.
        let mut r = row(60, 60, 0, 0);
        s.suppress(&mut r, 11);
        assert_eq!((r.a, r.b, r.c), (Some(60), Some(0), Some(0)));
        assert!(!r.suppressed);
        // The pass is idempotent and never clears the flag.
        let mut r = row(60, 40, 16, 4);
        s.suppress(&mut r, 11);
        let once = r.clone();
        s.suppress(&mut r, 11);
        assert_eq!(r, once);
    }

    #[test]
    fn formats_read_as_before() {
        assert_eq!(Format::P.show(&Cell::Num(0.0004)), "< 0.001");
        assert_eq!(Format::P.show(&Cell::Num(0.0423)), "0.042");
        assert_eq!(Format::Df.show(&Cell::Num(12.0)), "12");
        assert_eq!(Format::Df.show(&Cell::Num(12.34)), "12.3");
        assert_eq!(Format::Rate.show(&Cell::Num(0.834)), "83%");
        assert_eq!(Format::Number.show(&Cell::Num(-5.125)), "-5.12");
        assert_eq!(Format::Flag.show(&Cell::Bool(true)), "suppressed");
        assert_eq!(Format::Count.show(&Cell::Empty), "");
        assert_eq!(heading("pct_improved"), "% reliably improved");
        assert_eq!(heading("median_los_days"), "median los days");
    }
}
