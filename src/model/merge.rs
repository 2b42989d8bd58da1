//! [`Merger`]: profiles added up one at a time, as `pstats.Stats.add` adds them, in
//! memory bounded by the merged profile rather than by how many were added.
//!
//! Each profile is folded in as it comes and can be dropped at once: functions and
//! caller→callee edges are summed into tables keyed as the merged profile's, and the
//! few texts a later profile brings are copied out of its input buffer (see
//! [`Text::detached`]), so that no input but the first stays alive. Profiles of exact
//! stacks are summed as stacks, made distinct again whenever they have doubled. The
//! result is the profile [`Profile::merge`] of all of them gives: the same sums, added
//! in the same order, the same stats-dict order and first callers.

use std::collections::HashMap;

use super::stacks::RawStacks;
use super::{Edge, FuncKey, Measure, Profile, ProfileBuilder, Stats, Text};

type KeyMap<V> = HashMap<FuncKey, V, foldhash::fast::RandomState>;

/// Adds up profiles one at a time; [`Merger::finish`] gives the merged profile.
#[derive(Default)]
pub struct Merger {
    state: State,
    /// How many profiles were added.
    added: usize,
}

#[derive(Default)]
enum State {
    #[default]
    Empty,
    /// One profile, kept as it is until a second comes.
    One(Profile),
    Calls(CallSum),
    Stacks(StackSum),
}

impl Merger {
    pub fn new() -> Merger {
        Merger::default()
    }

    /// How many profiles were added so far.
    pub fn len(&self) -> usize {
        self.added
    }

    pub fn is_empty(&self) -> bool {
        self.added == 0
    }

    /// Folds `profile` in. Profiles of exact stacks stay stacks while every profile
    /// added is; any other turns the sum into functions and edges.
    pub fn add(&mut self, profile: Profile) {
        self.added += 1;
        self.state = match std::mem::take(&mut self.state) {
            State::Empty => State::One(profile),
            State::One(first) => {
                if sums_as_stacks(&first) && sums_as_stacks(&profile) {
                    let mut sum = StackSum::new(&first);
                    sum.add(&first);
                    drop(first);
                    sum.add(&profile);
                    State::Stacks(sum)
                } else {
                    State::Calls(CallSum::of_two(first, &profile))
                }
            }
            State::Stacks(mut sum) => {
                if sums_as_stacks(&profile) {
                    sum.add(&profile);
                    State::Stacks(sum)
                } else {
                    State::Calls(CallSum::of_two(sum.finish(), &profile))
                }
            }
            State::Calls(mut sum) => {
                sum.add(&profile, true);
                State::Calls(sum)
            }
        };
    }

    /// The merged profile (empty if nothing was added).
    pub fn finish(self) -> Profile {
        match self.state {
            State::Empty => ProfileBuilder::new().finish(),
            State::One(profile) => profile,
            State::Calls(sum) => sum.finish(),
            State::Stacks(sum) => sum.finish(),
        }
    }
}

/// Whether a profile is summed by its stacks: stacks that are the data (collapsed
/// input), not stacks estimated beside a profile of calls, which are summed by its
/// calls (the estimate is dropped).
fn sums_as_stacks(profile: &Profile) -> bool {
    profile.stacks().is_some_and(|s| !s.is_estimated())
}

/// Keys of the merged profile, interned as they first come; a key from a later input
/// is copied out of its buffer, a file name once however many functions it holds.
#[derive(Default)]
struct Keys {
    ids: KeyMap<u32>,
    keys: Vec<FuncKey>,
    files: HashMap<Text, Text, foldhash::fast::RandomState>,
}

impl Keys {
    fn id(&mut self, key: &FuncKey, detach: bool) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let key = if detach {
            let file = if key.file.is_shared() {
                self.files
                    .entry(key.file.clone())
                    .or_insert_with_key(Text::detached)
                    .clone()
            } else {
                key.file.clone()
            };
            FuncKey {
                file,
                line: key.line,
                name: key.name.detached(),
            }
        } else {
            key.clone()
        };
        let id = self.keys.len() as u32;
        self.ids.insert(key.clone(), id);
        self.keys.push(key);
        id
    }

    /// The ids of `profile`'s functions, by their function id.
    fn of(&mut self, profile: &Profile, detach: bool) -> Vec<u32> {
        let ids = profile
            .functions()
            .iter()
            .map(|f| self.id(&f.key, detach))
            .collect();
        if detach {
            // The files of one input are not met again as the same buffers.
            self.files.clear();
        }
        ids
    }
}

/// Functions and caller→callee edges summed as they come.
struct CallSum {
    measure: Measure,
    keys: Keys,
    /// Per key id: its summed row and whether any input listed it.
    stats: Vec<(Stats, bool)>,
    /// The listed functions in the order first listed: the merged dict's order.
    listing: Vec<u32>,
    /// Edges in the order first added, between key ids.
    edges: Vec<Edge>,
    pairs: HashMap<(u32, u32), u32, foldhash::fast::RandomState>,
}

impl CallSum {
    fn new(measure: Measure) -> CallSum {
        CallSum {
            measure,
            keys: Keys::default(),
            stats: Vec::new(),
            listing: Vec::new(),
            edges: Vec::new(),
            pairs: HashMap::default(),
        }
    }

    /// The sum of `first` (whose buffers it may keep) and `second`.
    fn of_two(first: Profile, second: &Profile) -> CallSum {
        let mut sum = CallSum::new(first.measure());
        sum.add(&first, false);
        drop(first);
        sum.add(second, true);
        sum
    }

    /// Adds `p` as [`Profile::merge`] does: its rows in its dict order, then, callee by
    /// callee, its callers dict with the first caller first.
    fn add(&mut self, p: &Profile, detach: bool) {
        let ids = self.keys.of(p, detach);
        self.stats
            .resize(self.keys.keys.len(), (Stats::default(), false));
        for &f in p.listing_order() {
            let (stats, listed) = &mut self.stats[ids[f as usize] as usize];
            stats.add(&p.function(f).stats);
            if !*listed {
                *listed = true;
                self.listing.push(ids[f as usize]);
            }
        }
        for callee in 0..p.functions().len() as u32 {
            let callers = p.callers_of(callee);
            let first = p
                .first_caller(callee)
                .and_then(|c| callers.binary_search_by_key(&c, |e| e.caller).ok());
            let rest = (0..callers.len()).filter(|&i| Some(i) != first);
            for i in first.into_iter().chain(rest) {
                let e = &callers[i];
                let pair = (ids[e.caller as usize], ids[e.callee as usize]);
                match self.pairs.get(&pair) {
                    Some(&at) => self.edges[at as usize].stats.add(&e.stats),
                    None => {
                        self.pairs.insert(pair, self.edges.len() as u32);
                        self.edges.push(Edge {
                            caller: pair.0,
                            callee: pair.1,
                            stats: e.stats,
                        });
                    }
                }
            }
        }
    }

    fn finish(self) -> Profile {
        let CallSum {
            measure,
            keys,
            stats,
            listing,
            mut edges,
            pairs,
        } = self;
        drop(pairs);
        drop(keys.ids);
        let mut b = ProfileBuilder::new();
        b.reserve(keys.keys.len(), edges.len());
        // Builder ids are key ids: every key interned first, in order.
        let mut slots: Vec<Option<FuncKey>> = keys.keys.into_iter().map(Some).collect();
        for key in &mut slots {
            if let Some(key) = key.take() {
                b.intern(key);
            }
        }
        drop(slots);
        for &f in &listing {
            b.set_function_id(f as usize, stats[f as usize].0);
        }
        // Each callee's edges together, in the order first added: the first is the
        // first entry of its merged callers dict.
        edges.sort_by_key(|e| e.callee);
        for e in edges {
            b.add_edge_ids(e.caller as usize, e.callee as usize, e.stats);
        }
        b.finish().with_measure(measure)
    }
}

/// Exact stacks summed as they come, made distinct whenever they double.
struct StackSum {
    keys: Keys,
    raw: RawStacks,
    /// Frames held after the last time the stacks were made distinct.
    distinct_frames: usize,
}

/// Stacks are made distinct no more often than once per this many frames.
const MIN_FRAMES_BEFORE_DISTINCT: usize = 1 << 20;

impl StackSum {
    fn new(first: &Profile) -> StackSum {
        StackSum {
            keys: Keys::default(),
            raw: RawStacks {
                unit: first.stacks().map_or(Default::default(), |s| s.unit()),
                ..RawStacks::default()
            },
            distinct_frames: 0,
        }
    }

    fn add(&mut self, p: &Profile) {
        let detach = !self.keys.keys.is_empty();
        let ids = self.keys.of(p, detach);
        for (frames, value) in p.stacks().into_iter().flat_map(|s| s.iter()) {
            self.raw
                .push(frames.iter().map(|&f| ids[f as usize]), value);
        }
        if self.raw.frames.len() > (2 * self.distinct_frames).max(MIN_FRAMES_BEFORE_DISTINCT) {
            self.make_distinct();
        }
    }

    /// Adds up identical stacks, through the profile they make.
    fn make_distinct(&mut self) {
        let keys = std::mem::take(&mut self.keys);
        let raw = std::mem::take(&mut self.raw);
        let unit = raw.unit;
        let summed = Profile::from_stacks(keys.keys, raw);
        let mut keys = Keys::default();
        let ids = keys.of(&summed, false);
        let mut raw = RawStacks {
            unit,
            ..RawStacks::default()
        };
        for (frames, value) in summed.stacks().into_iter().flat_map(|s| s.iter()) {
            raw.push(frames.iter().map(|&f| ids[f as usize]), value);
        }
        self.distinct_frames = raw.frames.len();
        self.keys = keys;
        self.raw = raw;
    }

    fn finish(self) -> Profile {
        Profile::from_stacks(self.keys.keys, self.raw)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::model::{FuncId, RawStacks};

    /// The merge as it is specified: every profile at once through one builder (or, for
    /// stacks, every stack into one table), holding all of them.
    fn merged_at_once(profiles: &[Profile]) -> Profile {
        if profiles.len() == 1 {
            return profiles[0].clone();
        }
        if profiles.iter().all(|p| p.stacks().is_some()) {
            let mut ids: HashMap<&FuncKey, u32> = HashMap::new();
            let mut keys: Vec<FuncKey> = Vec::new();
            let mut raw = RawStacks {
                unit: profiles[0]
                    .stacks()
                    .map_or(Default::default(), |s| s.unit()),
                ..RawStacks::default()
            };
            for p in profiles {
                let local: Vec<u32> = (p.functions().iter())
                    .map(|f| {
                        *ids.entry(&f.key).or_insert_with(|| {
                            keys.push(f.key.clone());
                            keys.len() as u32 - 1
                        })
                    })
                    .collect();
                for (frames, value) in p.stacks().into_iter().flat_map(|s| s.iter()) {
                    raw.push(frames.iter().map(|&f| local[f as usize]), value);
                }
            }
            return Profile::from_stacks(keys, raw);
        }
        let mut b = ProfileBuilder::new();
        for p in profiles {
            for &id in p.listing_order() {
                let f = p.function(id);
                b.add_function(f.key.clone(), f.stats);
            }
            for f in p.functions().iter().filter(|f| !f.listed) {
                b.intern(f.key.clone());
            }
            for callee in 0..p.functions().len() as FuncId {
                let callers = p.callers_of(callee);
                let first = p
                    .first_caller(callee)
                    .and_then(|c| callers.binary_search_by_key(&c, |e| e.caller).ok());
                let rest = (0..callers.len()).filter(|&i| Some(i) != first);
                for i in first.into_iter().chain(rest) {
                    let e = &callers[i];
                    b.add_edge(
                        p.function(e.caller).key.clone(),
                        p.function(e.callee).key.clone(),
                        e.stats,
                    );
                }
            }
        }
        b.finish().with_measure(profiles[0].measure())
    }

    fn real(name: &str) -> Profile {
        let path = format!("{}/tests/data/real/{name}", env!("CARGO_MANIFEST_DIR"));
        let data = bytes::Bytes::from(std::fs::read(path).unwrap());
        crate::input::load(name, data).unwrap().profile
    }

    fn same(a: &Profile, b: &Profile) {
        assert!(a == b, "merged profiles differ");
        assert_eq!(a.listing_order(), b.listing_order());
        for f in 0..a.functions().len() as FuncId {
            assert_eq!(a.first_caller(f), b.first_caller(f));
        }
    }

    #[test]
    fn one_at_a_time_is_all_at_once() {
        let names = [
            "pip_list.prof",
            "pygments.prof",
            "sympy.prof",
            "pip_list.prof",
        ];
        let profiles: Vec<Profile> = names.iter().map(|n| real(n)).collect();
        for n in 1..=profiles.len() {
            for start in 0..profiles.len() - n + 1 {
                let some = &profiles[start..start + n];
                same(&Profile::merge(some.to_vec()), &merged_at_once(some));
            }
        }
    }

    #[test]
    fn stacks_made_distinct_midway_sum_as_at_once() {
        let text = |i: usize| {
            format!(
                "main;load;parse {}\nmain;load;parse;parse {}\nmain;work{} 3\n",
                i + 1,
                2 * i + 1,
                i % 5
            )
        };
        let profiles: Vec<Profile> = (0..40)
            .map(|i| {
                crate::input::load("s", bytes::Bytes::from(text(i)))
                    .unwrap()
                    .profile
            })
            .collect();
        let mut sum = StackSum::new(&profiles[0]);
        for (i, p) in profiles.iter().enumerate() {
            sum.add(p);
            if i % 7 == 3 {
                sum.make_distinct();
            }
        }
        same(&sum.finish(), &merged_at_once(&profiles));
        same(
            &Profile::merge(profiles.clone()),
            &merged_at_once(&profiles),
        );
    }

    #[test]
    fn a_later_input_is_not_kept_alive_by_the_merge() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/real/pygments.prof");
        let data = bytes::Bytes::from(std::fs::read(path).unwrap());
        let later = crate::input::load("later", data.clone()).unwrap().profile;
        let inside = |t: &Text| data.as_ptr_range().contains(&t.as_str().as_ptr());
        assert!(later.functions().iter().any(|f| inside(&f.key.file)));
        let mut merger = Merger::new();
        merger.add(real("pip_list.prof"));
        merger.add(later);
        let merged = merger.finish();
        for f in merged.functions() {
            assert!(
                !inside(&f.key.file) && !inside(&f.key.name),
                "{} still points into the later input",
                f.key.display()
            );
        }
    }
}
