//! Save / crash / resume on a toy model.

use std::path::Path;

use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use prefopt_train::{
    AdamW, AdamWConfig, Checkpointer, LrSchedule, LrSchedulerKwargs, LrSchedulerType, ParamIds,
    TRAINER_STATE_FILE, TrainerState, clip_grad_norm, config_hash, latest_checkpoint,
    list_checkpoints, remove_stale_temporaries,
};

use crate::common::{Mlp, batch, dataset};

const BATCH: usize = 4;

fn schedule() -> LrSchedule {
    LrSchedule::new(
        LrSchedulerType::Cosine,
        5e-2,
        2,
        10,
        LrSchedulerKwargs::default(),
    )
    .unwrap()
}

/// Trains from `state.global_step` to `until`, returning the losses.
fn train(
    model: &mut Mlp,
    optim: &mut AdamW,
    state: &mut TrainerState,
    until: u64,
    device: &Device,
) -> Vec<f32> {
    let data = dataset(16);
    let schedule = schedule();
    let mut losses = Vec::new();
    while state.global_step < until {
        let (x, y) = batch(&data, state.data_cursor as usize, BATCH, device);
        let loss = model.mse(x, y);
        losses.push(loss.clone().into_scalar::<f32>());
        let mut grads = burn::optim::GradientsParams::from_grads(loss.backward(), &*model);
        clip_grad_norm(&*model, &mut grads, 1.0);
        let lr = schedule.lr_at(state.global_step);
        *model = optim.step(lr, model.clone(), grads);
        state.global_step += 1;
        state.data_cursor = (state.data_cursor + BATCH as u64) % 16;
        state.epoch = state.global_step as f64 * BATCH as f64 / 16.0;
    }
    losses
}

/// What the models crate will do: HF-style safetensors, which do not keep burn's ParamIds.
fn save_safetensors(model: &Mlp, dir: &Path) -> Result<(), burn::store::SafetensorsStoreError> {
    let mut store = SafetensorsStore::from_file(dir.join("model.safetensors"));
    model.save_into(&mut store)
}

fn load_safetensors(dir: &Path, device: &Device) -> Mlp {
    let mut model = Mlp::new(device); // fresh random weights and fresh ParamIds
    let mut store = SafetensorsStore::from_file(dir.join("model.safetensors"));
    let result = model.load_from(&mut store).unwrap();
    assert!(
        result.errors.is_empty() && result.missing.is_empty(),
        "{result:?}"
    );
    model
}

#[test]
fn resume_is_bitwise_identical_to_uninterrupted() {
    let device = Device::flex().autodiff();
    device.seed(11);
    let init = Mlp::new(&device);
    let hash = config_hash(&AdamWConfig::new()).unwrap();

    // Uninterrupted: 10 steps.
    let mut model_a = init.clone();
    let mut optim_a = AdamWConfig::new().init().unwrap();
    let mut state_a = TrainerState::new(11, hash.clone());
    let losses_a = train(&mut model_a, &mut optim_a, &mut state_a, 10, &device);

    // Interrupted: 5 steps, checkpoint, everything dropped.
    let out = tempfile::tempdir().unwrap();
    let checkpointer = Checkpointer::new(out.path(), Some(2));
    let mut losses_b;
    let saved_ids;
    {
        let mut model = init.clone();
        let mut optim = AdamWConfig::new().init().unwrap();
        let mut state = TrainerState::new(11, hash.clone());
        losses_b = train(&mut model, &mut optim, &mut state, 5, &device);
        let dir = checkpointer
            .save(&model, &optim, &state, |dir: &Path| {
                save_safetensors(&model, dir)
            })
            .unwrap();
        assert_eq!(dir, out.path().join("checkpoint-5"));
        saved_ids = ParamIds::collect(&model);
    }

    // "New process": new model object from the files, new optimizer, state from disk.
    let latest = latest_checkpoint(out.path()).unwrap().unwrap();
    let fresh = load_safetensors(&latest, &device);
    let fresh_ids = ParamIds::collect(&fresh);
    assert_eq!(fresh_ids.len(), 4);
    assert!(
        fresh_ids.iter().all(|(p, id)| saved_ids.get(p) != Some(id)),
        "ids should be new"
    );
    let resumed = Checkpointer::resume(&latest, fresh, AdamWConfig::new().init().unwrap()).unwrap();
    assert_eq!(ParamIds::collect(&resumed.model), saved_ids);
    resumed.state.check_config_hash(&hash).unwrap();
    assert_eq!(
        (resumed.state.global_step, resumed.state.data_cursor),
        (5, 4)
    );
    let (mut model_b, mut optim_b, mut state_b) = (resumed.model, resumed.optimizer, resumed.state);
    losses_b.extend(train(&mut model_b, &mut optim_b, &mut state_b, 10, &device));

    assert_eq!(losses_a.len(), 10);
    assert_eq!(
        losses_a, losses_b,
        "loss trajectories must be bitwise identical"
    );
    assert_eq!(
        model_a.flat_params(),
        model_b.flat_params(),
        "final parameters must be identical"
    );
    assert!(losses_a[9] < losses_a[0], "{losses_a:?}");
}

#[test]
fn resume_without_optimizer_state_would_differ() {
    // Control for the test above: a fresh optimizer (moments reset) changes step 6 onwards.
    let device = Device::flex().autodiff();
    device.seed(11);
    let init = Mlp::new(&device);
    let mut a = init.clone();
    let mut oa = AdamWConfig::new().init().unwrap();
    let mut sa = TrainerState::new(0, "h");
    let la = train(&mut a, &mut oa, &mut sa, 7, &device);
    let mut b = init;
    let mut ob = AdamWConfig::new().init().unwrap();
    let mut sb = TrainerState::new(0, "h");
    let mut lb = train(&mut b, &mut ob, &mut sb, 5, &device);
    let mut ob = AdamWConfig::new().init().unwrap();
    lb.extend(train(&mut b, &mut ob, &mut sb, 7, &device));
    assert_eq!(la[..6], lb[..6]);
    assert_ne!(la[6], lb[6]);
}

#[test]
fn crash_leftovers_are_never_resumed_and_pruning_keeps_last_n_and_best() {
    let device = Device::flex().autodiff();
    let model = Mlp::new(&device);
    let optim = AdamWConfig::new().init().unwrap();
    let out = tempfile::tempdir().unwrap();
    let checkpointer = Checkpointer::new(out.path(), Some(2));
    let mut state = TrainerState::new(0, "h");
    for step in [1, 2, 3, 4] {
        state.global_step = step;
        if step == 1 {
            state.best_model_checkpoint =
                Some(checkpointer.checkpoint_dir(1).display().to_string());
        }
        checkpointer
            .save(&model, &optim, &state, |dir: &Path| {
                std::fs::write(dir.join("model.txt"), "m")
            })
            .unwrap();
    }
    let steps: Vec<u64> = list_checkpoints(out.path())
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(steps, vec![1, 3, 4], "last 2 plus the protected best");

    // A crash mid-write of step 9 (temporary dir) and a directory without trainer_state.json.
    let tmp = out.path().join("checkpoint-9.tmp-4242");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::write(tmp.join(TRAINER_STATE_FILE), "{").unwrap();
    std::fs::create_dir(out.path().join("checkpoint-8")).unwrap();
    assert_eq!(
        latest_checkpoint(out.path()).unwrap().unwrap(),
        out.path().join("checkpoint-4")
    );
    // Half-written files of a killed write_atomic, at the top and in a subfolder (a
    // pipeline's `text_encoder/`, the cache); finished files stay.
    let top = out.path().join(".model.safetensors.tmp-4242");
    std::fs::write(&top, b"half").unwrap();
    std::fs::create_dir_all(out.path().join("text_encoder")).unwrap();
    let nested = out.path().join("text_encoder/.model.safetensors.tmp-4242");
    std::fs::write(&nested, b"half").unwrap();
    let finished = out.path().join("text_encoder/model.safetensors");
    std::fs::write(&finished, b"whole").unwrap();
    assert_eq!(remove_stale_temporaries(out.path()).unwrap(), 3);
    assert!(!tmp.exists() && !top.exists() && !nested.exists());
    assert!(finished.exists());
    assert!(out.path().join("checkpoint-4").exists());

    // A failing model saver leaves no checkpoint behind.
    state.global_step = 5;
    let err = checkpointer
        .save(&model, &optim, &state, |_: &Path| {
            Err::<(), _>(std::io::Error::other("disk full"))
        })
        .unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    assert_eq!(
        latest_checkpoint(out.path()).unwrap().unwrap(),
        out.path().join("checkpoint-4")
    );

    // Re-saving an existing step replaces it atomically.
    state.global_step = 4;
    state.data_cursor = 77;
    checkpointer
        .save(&model, &optim, &state, |dir: &Path| {
            std::fs::write(dir.join("model.txt"), "m2")
        })
        .unwrap();
    let again =
        TrainerState::read(out.path().join("checkpoint-4").join(TRAINER_STATE_FILE)).unwrap();
    assert_eq!(again.data_cursor, 77);
    let _ = model.num_params();
}
