use super::*;

fn dec(bytes: &[u8]) -> Decoded {
    decode(&Bytes::copy_from_slice(bytes)).unwrap_or_else(|e| panic!("{e}"))
}

fn fail(bytes: &[u8]) -> Error {
    match decode(&Bytes::copy_from_slice(bytes)) {
        Ok(d) => panic!("decoded {:?}", d.get(d.root)),
        Err(e) => e,
    }
}

fn i32le(n: i32) -> [u8; 4] {
    n.to_le_bytes()
}

/// `i` with the value `n`.
fn int(n: i32) -> Vec<u8> {
    let mut v = vec![b'i'];
    v.extend(i32le(n));
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn root(bytes: &[u8]) -> Value {
    let d = dec(bytes);
    d.get(d.root).clone()
}

#[test]
fn singletons() {
    assert_eq!(root(b"N"), Value::None);
    assert_eq!(root(b"T"), Value::Bool(true));
    assert_eq!(root(b"F"), Value::Bool(false));
    assert_eq!(root(b"S"), Value::StopIteration);
    assert_eq!(root(b"."), Value::Ellipsis);
    assert_eq!(root(&[b'N' | FLAG_REF]), Value::None);
}

#[test]
fn flagged_singletons_and_null_take_no_slot() {
    // (None, 7, r0) with None flagged: r0 must be the int, not None.
    let bytes = cat(&[
        b")\x03",
        &[0xCE, b'i' | FLAG_REF],
        &i32le(7),
        b"r",
        &i32le(0),
    ]);
    let d = dec(&bytes);
    let items = d.tuple(d.root).expect("tuple").to_vec();
    assert_eq!(d.get(items[0]), &Value::None);
    assert_eq!(d.int(items[2]), Some(7));
    assert_eq!(items[1], items[2], "r shares the handle");
    // A flagged NULL ends a dict without taking a slot.
    let bytes = cat(&[b")\x02", &[b'{' | FLAG_REF, 0xB0], b"r", &i32le(0)]);
    let d = dec(&bytes);
    let items = d.tuple(d.root).expect("tuple").to_vec();
    assert_eq!(items[0], items[1]);
}

#[test]
fn ints() {
    assert_eq!(root(&int(-5)), Value::Int(-5));
    let mut b = vec![b'I'];
    b.extend((-(1i64 << 40)).to_le_bytes());
    assert_eq!(root(&b), Value::Int(-(1 << 40)));
}

fn long(n: i32, digits: &[u16]) -> Vec<u8> {
    let mut v = vec![b'l'];
    v.extend(i32le(n));
    for d in digits {
        v.extend(d.to_le_bytes());
    }
    v
}

#[test]
fn longs_with_15_bit_digits() {
    assert_eq!(root(&long(0, &[])), Value::Int(0));
    // 2**31 = digits [0, 0, 2]
    assert_eq!(root(&long(3, &[0, 0, 2])), Value::Int(1 << 31));
    assert_eq!(root(&long(-3, &[1, 0, 2])), Value::Int(-((1 << 31) + 1)));
    // py2 writes small longs as `l` too.
    assert_eq!(root(&long(1, &[7])), Value::Int(7));
}

#[test]
fn longs_beyond_i128_saturate() {
    let big = vec![0x7FFF; 10]; // 150 bits
    assert_eq!(root(&long(10, &big)), Value::Int(i128::MAX));
    assert_eq!(root(&long(-10, &big)), Value::Int(i128::MIN));
    // 2**127 exactly: too big for i128 positive, exactly i128::MIN negative.
    let mut digits = vec![0u16; 8];
    digits.push(1 << 7); // 15 * 8 = 120; 120 + 7 = 127
    assert_eq!(root(&long(9, &digits)), Value::Int(i128::MAX));
    assert_eq!(root(&long(-9, &digits)), Value::Int(i128::MIN));
}

#[test]
fn bad_longs_are_rejected() {
    assert!(fail(&long(1, &[0x8000])).message.contains("out of range"));
    assert!(fail(&long(2, &[1, 0])).message.contains("unnormalized"));
    let e = fail(&cat(&[b"l", &i32le(i32::MIN)]));
    assert!(e.truncated && e.message.contains("digits declared"), "{e}");
}

#[test]
fn floats_binary_and_text() {
    let mut g = vec![b'g'];
    g.extend(1.5f64.to_le_bytes());
    assert_eq!(root(&g), Value::Float(1.5));
    assert_eq!(root(b"f\x040.25"), Value::Float(0.25));
    assert_eq!(root(b"f\x03inf"), Value::Float(f64::INFINITY));
    assert_eq!(root(b"f\x04-inf"), Value::Float(f64::NEG_INFINITY));
    assert!(matches!(root(b"f\x03nan"), Value::Float(x) if x.is_nan()));
    assert!(fail(b"f\x03abc").message.contains("not a number"));
    let mut y = vec![b'y'];
    y.extend(1.0f64.to_le_bytes());
    y.extend(2.0f64.to_le_bytes());
    assert_eq!(root(&y), Value::Complex(1.0, 2.0));
    assert_eq!(
        root(b"x\x011\x04-inf"),
        Value::Complex(1.0, f64::NEG_INFINITY)
    );
}

#[test]
fn strings_of_every_code() {
    let text = |v: Value| match v {
        Value::Str(t) => t.as_str().to_string(),
        Value::Bytes(b) => format!("bytes:{}", String::from_utf8_lossy(&b)),
        other => panic!("{other:?}"),
    };
    assert_eq!(text(root(&cat(&[b"s", &i32le(2), b"ab"]))), "bytes:ab");
    assert_eq!(text(root(&cat(&[b"u", &i32le(3), "é!".as_bytes()]))), "é!");
    assert_eq!(text(root(&cat(&[b"t", &i32le(1), b"x"]))), "x");
    assert_eq!(text(root(&cat(&[b"a", &i32le(2), b"\xe9a"]))), "éa");
    assert_eq!(text(root(&cat(&[b"A", &i32le(1), b"q"]))), "q");
    assert_eq!(text(root(b"z\x02hi")), "hi");
    assert_eq!(text(root(b"Z\x01\xff")), "ÿ");
}

#[test]
fn invalid_utf8_and_surrogates_become_replacement_characters() {
    let s = root(&cat(&[b"u", &i32le(5), b"a\xed\xb3\xa9b"]));
    let Value::Str(t) = s else { panic!("{s:?}") };
    assert!(t.as_str().starts_with('a') && t.as_str().ends_with('b'));
    assert!(t.as_str().contains('\u{FFFD}'));
    let d = dec(&cat(&[b"s", &i32le(2), b"\xff\xfe"]));
    assert_eq!(d.text(d.root).expect("text").as_str(), "\u{FFFD}\u{FFFD}");
}

#[test]
fn long_strings_share_the_input_buffer_and_short_ones_are_copied() {
    let long = b"/usr/lib/python3.12/importlib/__init__.py";
    for (text, shared) in [(&long[..], true), (&long[..3], false)] {
        let data = Bytes::from(cat(&[b"u", &i32le(text.len() as i32), text]));
        let d = decode(&data).expect("decode");
        let Value::Str(t) = d.get(d.root) else {
            panic!()
        };
        assert_eq!(t.as_str().as_bytes(), text);
        let range = data.as_ptr_range();
        assert_eq!(range.contains(&t.as_str().as_ptr()), shared, "{t:?}");
    }
}

#[test]
fn py2_interned_strings_and_r_lookups() {
    let bytes = cat(&[
        b"(",
        &i32le(3),
        b"t",
        &i32le(1),
        b"a",
        b"t",
        &i32le(1),
        b"b",
        b"R",
        &i32le(0),
    ]);
    let d = dec(&bytes);
    let items = d.tuple(d.root).expect("tuple");
    assert_eq!(items[0], items[2]);
    assert!(
        fail(&cat(&[b"R", &i32le(0)]))
            .message
            .contains("py2 string reference")
    );
}

#[test]
fn containers() {
    let bytes = cat(&[b"[", &i32le(2), &int(1), b"N"]);
    assert!(matches!(root(&bytes), Value::List(v) if v.len() == 2));
    assert!(matches!(root(&cat(&[b"<", &i32le(1), &int(1)])), Value::Set(v) if v.len() == 1));
    assert!(matches!(root(&cat(&[b">", &i32le(0)])), Value::FrozenSet(v) if v.is_empty()));
    assert!(matches!(root(b")\x00"), Value::Tuple(v) if v.is_empty()));
    assert!(matches!(
        root(&cat(&[b":", b"N", &int(3), b"N"])),
        Value::Slice(..)
    ));
    let d = dec(&cat(&[b"{", &int(1), &int(2), &int(3), b"N", b"0"]));
    let Value::Dict(pairs) = d.get(d.root) else {
        panic!()
    };
    assert_eq!(pairs.len(), 2);
    assert_eq!(d.int(pairs[0].1), Some(2));
}

#[test]
fn null_rules() {
    // NULL as a dict value ends the dict (Python 3), with a warning.
    let d = dec(&cat(&[
        b"{",
        &int(1),
        &int(2),
        &int(3),
        b"0",
        &int(4),
        b"N0",
    ]));
    let Value::Dict(pairs) = d.get(d.root) else {
        panic!()
    };
    assert_eq!(pairs.len(), 1);
    assert_eq!(d.warnings.len(), 1);
    assert!(d.end < 20);
    assert!(fail(b")\x010").message.contains("NULL"));
    assert!(fail(b"0").message.contains("top level"));
    assert!(
        fail(&cat(&[b"{", b"[", &i32le(0), b"N0"]))
            .message
            .contains("unhashable")
    );
}

#[test]
fn refs_are_numbered_in_pre_order() {
    // outer tuple (slot 0) holding inner tuple (slot 1) holding int (slot 2), then r1, r2.
    let bytes = cat(&[
        &[b')' | FLAG_REF, 3, b')' | FLAG_REF, 1, b'i' | FLAG_REF],
        &i32le(9),
        b"r",
        &i32le(1),
        b"r",
        &i32le(2),
    ]);
    let d = dec(&bytes);
    let items = d.tuple(d.root).expect("outer").to_vec();
    assert_eq!(items[0], items[1], "r1 is the inner tuple");
    assert_eq!(d.int(items[2]), Some(9));
}

#[test]
fn refs_to_pending_or_missing_slots_are_rejected() {
    let e = fail(&cat(&[&[b')' | FLAG_REF, 1], b"r", &i32le(0)]));
    assert!(e.message.contains("still being read"), "{e}");
    assert!(
        fail(&cat(&[b"r", &i32le(0)]))
            .message
            .contains("invalid reference")
    );
    assert!(
        fail(&cat(&[b"r", &i32le(-1)]))
            .message
            .contains("invalid reference")
    );
}

#[test]
fn a_ref_bomb_costs_nothing() {
    // t0 = (1, 1); t(k+1) = (r tk, r tk): 60 levels stand for 2**60 leaves.
    let mut bytes = Vec::new();
    let levels = 60;
    for _ in 0..levels {
        bytes.extend([b')' | FLAG_REF, 2]);
    }
    bytes.extend(int(1));
    bytes.extend(int(1));
    // Close from the innermost: slot of level k is k; each outer level's 2nd item is r(inner).
    for k in (1..levels).rev() {
        bytes.push(b'r');
        bytes.extend(i32le(k));
    }
    let d = dec(&bytes);
    assert!(d.arena.len() < 100, "{} values", d.arena.len());
}

#[test]
fn nesting_is_capped_without_recursion() {
    let mut bytes = Vec::new();
    for _ in 0..100_000 {
        bytes.extend([b')', 1]);
    }
    bytes.push(b'N');
    assert!(fail(&bytes).message.contains("nesting deeper than"));
}

#[test]
fn declared_lengths_are_checked_before_allocating() {
    for code in [b'(', b'[', b'<', b'>', b's', b'u', b't', b'a'] {
        let e = fail(&cat(&[&[code], &i32le(i32::MAX), b"NN"]));
        assert!(e.truncated && e.message.contains("declared"), "{e}");
    }
    assert!(fail(&cat(&[b"u", &i32le(-1)])).message.contains("negative"));
}

#[test]
fn errors_carry_offsets() {
    let e = fail(&cat(&[b")\x02N", &[0x01]]));
    assert_eq!(e.offset, 3);
    assert!(e.to_string().ends_with("at byte 3"), "{e}");
    assert!(fail(b"?").message.contains("TYPE_UNKNOWN"));
    assert!(fail(b"i\x01\x00").to_string().starts_with("truncated: "));
    assert!(fail(b"{").to_string().starts_with("truncated: "));
}

#[test]
fn trailing_bytes_are_left_unread() {
    let d = dec(b"Nxyz");
    assert_eq!(d.end, 1);
}

/// A code object in one of the four layouts, with name `f` in `a.py` at line 3.
fn code(ints: usize, py311: bool) -> Vec<u8> {
    let mut v = vec![b'c'];
    for _ in 0..ints {
        v.extend(i32le(0));
    }
    v.extend(cat(&[b"s", &i32le(2), b"\x64\x00"])); // code
    v.extend(b")\x01N"); // consts
    v.extend(b")\x00"); // names
    if py311 {
        v.extend(b")\x00"); // localsplusnames
        v.extend(cat(&[b"s", &i32le(0)])); // localspluskinds
        v.extend(b"z\x04a.py"); // filename
        v.extend(b"z\x01f"); // name
        v.extend(b"z\x01f"); // qualname
    } else {
        v.extend(b")\x00)\x00)\x00"); // varnames freevars cellvars
        v.extend(cat(&[b"s", &i32le(4), b"a.py"])); // filename
        v.extend(cat(&[b"t", &i32le(1), b"f"])); // name
    }
    v.extend(i32le(3));
    v.extend(cat(&[b"s", &i32le(0)])); // lnotab / linetable
    if py311 {
        v.extend(cat(&[b"s", &i32le(0)])); // exceptiontable
    }
    v
}

#[test]
fn code_objects_in_all_four_layouts() {
    for (ints, py311) in [(4, false), (5, false), (6, false), (5, true)] {
        let bytes = cat(&[b")\x02", &code(ints, py311), b"N"]);
        let d = dec(&bytes);
        let items = d.tuple(d.root).expect("tuple");
        let Value::Code(c) = d.get(items[0]) else {
            panic!("{:?}", d.get(items[0]))
        };
        assert_eq!(
            (c.name.as_str(), c.file.as_str(), c.firstlineno),
            ("f", "a.py", 3)
        );
        assert_eq!(d.get(items[1]), &Value::None, "layout ({ints}, {py311})");
        assert_eq!(code_repr(c), "<code object f, file \"a.py\", line 3>");
    }
}

#[test]
fn a_code_object_fitting_no_layout_is_an_error() {
    let e = fail(b"c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00N");
    assert!(e.offset > 0, "{e}");
}

#[test]
fn version_5_slices_read_and_version_6_frozendicts_are_refused_by_name() {
    // v5 (3.14): `:` start, stop, step, also with FLAG_REF.
    for code in [b':', b':' | 0x80] {
        let d = dec(&cat(&[&[code], b"i\x01\x00\x00\x00NN"]));
        assert!(matches!(d.get(d.root), Value::Slice(..)));
    }
    // v6 (3.15): `}` frozendict, inside a stats dict's value at byte 8.
    let e = fail(b"{)\x01N)\x01N}0");
    assert_eq!(e.offset, 7);
    assert_eq!(
        e.to_string(),
        "type code 0x7D ('}', a frozendict of marshal version 6, Python 3.15) is not \
         supported in a stats file at byte 7"
    );
    let flagged = fail(&[b'}' | 0x80]);
    assert!(flagged.message.contains("frozendict"), "{flagged}");
}
