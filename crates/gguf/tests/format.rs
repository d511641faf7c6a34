//! The reader against `format.gguf` / `align64.gguf` (written by gguf-py's `GGUFWriter`).

use prefopt_gguf::{Array, GgmlType, GgufFile, Value, ValueType};

use crate::common::{fixture, json, write_temp};

fn check_format(file: &GgufFile, expected: &serde_json::Value) {
    assert_eq!(file.alignment(), expected["alignment"].as_u64().unwrap());
    assert_eq!(file.data_start(), expected["data_start"].as_u64().unwrap());
    assert_eq!(file.file_len(), expected["file_len"].as_u64().unwrap());
    assert_eq!(
        file.require_str("general.architecture").unwrap(),
        "prefopt-fixture"
    );

    for (key, want) in expected["scalars"].as_object().unwrap() {
        let v = file.get(key).unwrap_or_else(|| panic!("missing {key}"));
        assert_eq!(
            v.value_type().to_string(),
            want["type"].as_str().unwrap(),
            "{key}"
        );
        let ok = match v {
            Value::F32(x) => u64::from(x.to_bits()) == want["bits"].as_u64().unwrap(),
            Value::F64(x) => *x == want["value"].as_f64().unwrap(),
            Value::Bool(b) => *b == want["value"].as_bool().unwrap(),
            Value::String(s) => s == want["value"].as_str().unwrap(),
            Value::U64(x) => *x == want["value"].as_u64().unwrap(),
            other => other.as_i64().unwrap() == want["value"].as_i64().unwrap(),
        };
        assert!(ok, "{key}: {v:?} != {want}");
    }

    let arrays = &expected["arrays"];
    let a = |k: &str| file.get_array(k).unwrap().unwrap();
    assert_eq!(a("t.array.i32"), &Array::I32(vec![1, -2, 3]));
    let f32_bits: Vec<u64> = match a("t.array.f32") {
        Array::F32(v) => v.iter().map(|x| u64::from(x.to_bits())).collect(),
        other => panic!("{other:?}"),
    };
    let want: Vec<u64> = arrays["t.array.f32"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(f32_bits, want);
    assert_eq!(
        file.get_strings("t.array.string").unwrap().unwrap(),
        &["a".to_string(), "ß".to_string(), String::new()]
    );
    assert_eq!(a("t.array.bool"), &Array::Bool(vec![true, false]));
    assert_eq!(a("t.array.u8"), &Array::U8(vec![0, 255]));
    assert_eq!(a("t.array.u64"), &Array::U64(vec![1 << 63]));
    assert_eq!(
        a("t.array.nested"),
        &Array::Array(vec![Array::I32(vec![1, 2]), Array::I32(vec![3])])
    );
    assert_eq!(a("t.array.nested").element_type(), ValueType::Array);

    let names: Vec<&str> = file.tensors().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["vec", "mat", "cube", "half", "brain"]);
    for t in expected["tensors"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let info = file.tensor(name).unwrap();
        let shape: Vec<usize> = serde_json::from_value(t["shape"].clone()).unwrap();
        let dims: Vec<u64> = serde_json::from_value(t["dims"].clone()).unwrap();
        assert_eq!(info.shape(), shape, "{name}");
        assert_eq!(info.dims, dims, "{name}: ggml's ne is the reversed shape");
        assert_eq!(info.ggml_type.to_string(), t["ggml_type"].as_str().unwrap());
        assert_eq!(info.offset, t["offset"].as_u64().unwrap(), "{name}");
        let values = file.tensor_f32(name).unwrap();
        let bits: Vec<u64> = values.iter().map(|x| u64::from(x.to_bits())).collect();
        let want: Vec<u64> = serde_json::from_value(t["bits"].clone()).unwrap();
        assert_eq!(bits, want, "{name}");
    }
}

#[test]
fn reads_every_value_type_and_tensor_layout() {
    let file = GgufFile::open(fixture("format.gguf")).unwrap();
    assert_eq!(file.version(), 3);
    check_format(&file, &json("format.json"));
    assert_eq!(file.tensor("half").unwrap().ggml_type, GgmlType::F16);
    assert_eq!(
        file.require_u64("prefopt.fixture.seed").unwrap(),
        json("format.json")["seed"].as_u64().unwrap()
    );
}

#[test]
fn version_2_reads_like_version_3() {
    let mut bytes = std::fs::read(fixture("format.gguf")).unwrap();
    bytes[4] = 2;
    let dir = tempfile::tempdir().unwrap();
    let file = GgufFile::open(write_temp(&dir, "v2.gguf", &bytes)).unwrap();
    assert_eq!(file.version(), 2);
    check_format(&file, &json("format.json"));
}

#[test]
fn custom_alignment_moves_the_data_section() {
    let expected = json("align64.json");
    let file = GgufFile::open(fixture("align64.gguf")).unwrap();
    assert_eq!(file.alignment(), 64);
    assert_eq!(file.data_start(), expected["data_start"].as_u64().unwrap());
    assert_eq!(file.data_start() % 64, 0);
    assert_eq!(file.tensor("twelve").unwrap().offset, 0);
    assert_eq!(file.tensor("twenty").unwrap().offset, 64);
    assert_eq!(file.tensor_f32("twelve").unwrap(), [0.0, 1.0, 2.0]);
    assert_eq!(
        file.tensor_f32("twenty").unwrap(),
        [10.0, 11.0, 12.0, 13.0, 14.0]
    );
    assert_eq!(file.file_len() % 64, 0);
}

#[test]
fn typed_accessors_name_the_key() {
    let file = GgufFile::open(fixture("format.gguf")).unwrap();
    assert_eq!(file.get_u64("t.u8").unwrap(), Some(200));
    assert_eq!(file.get_f64("t.f32").unwrap(), Some(f64::from(0.1f32)));
    assert_eq!(file.get_u64("absent").unwrap(), None);
    let err = file.get_u64("t.i8").unwrap_err().to_string();
    assert!(err.contains("t.i8") && err.contains("i8"), "{err}");
    let err = file.require_str("t.u32").unwrap_err().to_string();
    assert!(err.contains("t.u32") && err.contains("string"), "{err}");
    let err = file.require_u64("no.such.key").unwrap_err().to_string();
    assert!(
        err.contains("no.such.key") && err.contains("format.gguf"),
        "{err}"
    );
    let err = file.tensor_f32("no.such.tensor").unwrap_err().to_string();
    assert!(err.contains("no.such.tensor"), "{err}");
}
