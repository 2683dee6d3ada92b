;; The polyphase resampler's inner loops (lib/polyphase/PolyphaseResampler.ts drives them).
;; Built into lib/polyphase/kernelWasm.ts by `node scripts/build-kernel.mjs`; test/polyphase.test.ts checks the two agree.
;;
;; Memory layout is the caller's: a filter table of `phases` rows of `taps` f32 (taps a multiple of 8),
;; one f32 history plane per channel, an interleaved int16 staging area and an interleaved int16 output area.
(module
  (memory (export "memory") 1)

  ;; Channel `c` of `frames` interleaved int16 frames at `src` → f32 at `dst` (the tail of that channel's plane).
  (func $load (export "load") (param $src i32) (param $frames i32) (param $channels i32) (param $c i32) (param $dst i32)
    (local $end i32) (local $step i32)
    (local.set $src (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 1))))
    (local.set $step (i32.shl (local.get $channels) (i32.const 1)))
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $frames) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst) (f32.convert_i32_s (i32.load16_s (local.get $src))))
        (local.set $src (i32.add (local.get $src) (local.get $step)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $next))))

  ;; Mono int16 at `src` → f32 at `dst`, 8 samples a turn, then one at a time.
  (func (export "loadMono") (param $src i32) (param $frames i32) (param $dst i32)
    (local $end i32) (local $v v128)
    (local.set $end (i32.add (local.get $dst) (i32.shl (i32.and (local.get $frames) (i32.const -8)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (local.set $v (v128.load (local.get $src)))
        (v128.store (local.get $dst) (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $v))))
        (v128.store offset=16 (local.get $dst) (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $v))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br $next)))
    (call $load (local.get $src) (i32.and (local.get $frames) (i32.const 7)) (i32.const 1) (i32.const 0) (local.get $dst)))

  ;; Stereo int16 at `src` → the mean of each frame's two samples, rounded half to even (as lib/mix.ts does),
  ;; as f32 at `dst`: the 2 → 1 downmix on the way in, 4 frames a turn.
  (func (export "loadStereoMean") (param $src i32) (param $frames i32) (param $dst i32)
    (local $end i32) (local $s v128) (local $sum i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (i32.and (local.get $frames) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        ;; L + R of 4 frames, as i32
        (local.set $s (i32x4.extadd_pairwise_i16x8_s (v128.load (local.get $src))))
        ;; (s + ((s >> 1) & 1)) >> 1: halve, rounding half to even
        (local.set $s (i32x4.shr_s
          (i32x4.add (local.get $s) (v128.and (i32x4.shr_s (local.get $s) (i32.const 1)) (v128.const i32x4 1 1 1 1)))
          (i32.const 1)))
        (v128.store (local.get $dst) (f32x4.convert_i32x4_s (local.get $s)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $next)))
    (local.set $end (i32.add (local.get $dst) (i32.shl (i32.and (local.get $frames) (i32.const 3)) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (local.set $sum (i32.add (i32.load16_s (local.get $src)) (i32.load16_s offset=2 (local.get $src))))
        (local.set $sum (i32.shr_s
          (i32.add (local.get $sum) (i32.and (i32.shr_s (local.get $sum) (i32.const 1)) (i32.const 1)))
          (i32.const 1)))
        (f32.store (local.get $dst) (f32.convert_i32_s (local.get $sum)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $next))))

  ;; `count` outputs of one channel. Output k is the dot product of table row `frac` with the plane from sample
  ;; `pos`; then pos advances by intAdv and frac by fracAdv (carrying into pos at `phases`). Each output is rounded
  ;; half up and saturated to int16, stored at `out`, `stride` bytes apart.
  (func (export "run")
    (param $table i32) (param $taps i32) (param $phases i32) (param $intAdv i32) (param $fracAdv i32)
    (param $plane i32) (param $pos i32) (param $frac i32) (param $count i32) (param $out i32) (param $stride i32)
    (local $rowBytes i32) (local $f i32) (local $x i32) (local $fEnd i32)
    (local $acc0 v128) (local $acc1 v128) (local $sum f32) (local $v i32)
    (local.set $rowBytes (i32.shl (local.get $taps) (i32.const 2)))
    (block $done
      (loop $output
        (br_if $done (i32.eqz (local.get $count)))
        (local.set $f (i32.add (local.get $table) (i32.mul (local.get $frac) (local.get $rowBytes))))
        (local.set $x (i32.add (local.get $plane) (i32.shl (local.get $pos) (i32.const 2))))
        (local.set $fEnd (i32.add (local.get $f) (local.get $rowBytes)))
        (local.set $acc0 (v128.const f32x4 0 0 0 0))
        (local.set $acc1 (v128.const f32x4 0 0 0 0))
        ;; two accumulators, 8 taps a turn: the adds of one do not wait on the other
        (loop $tap
          (local.set $acc0 (f32x4.add (local.get $acc0)
            (f32x4.mul (v128.load (local.get $f)) (v128.load (local.get $x)))))
          (local.set $acc1 (f32x4.add (local.get $acc1)
            (f32x4.mul (v128.load offset=16 (local.get $f)) (v128.load offset=16 (local.get $x)))))
          (local.set $f (i32.add (local.get $f) (i32.const 32)))
          (local.set $x (i32.add (local.get $x) (i32.const 32)))
          (br_if $tap (i32.lt_u (local.get $f) (local.get $fEnd))))
        (local.set $acc0 (f32x4.add (local.get $acc0) (local.get $acc1)))
        (local.set $sum (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $acc0)) (f32x4.extract_lane 1 (local.get $acc0)))
          (f32.add (f32x4.extract_lane 2 (local.get $acc0)) (f32x4.extract_lane 3 (local.get $acc0)))))
        ;; round half up, then saturate (trunc_sat never traps; the clamp keeps it in int16)
        (local.set $v (i32.trunc_sat_f32_s (f32.floor (f32.add (local.get $sum) (f32.const 0.5)))))
        (local.set $v (select (local.get $v) (i32.const 32767) (i32.lt_s (local.get $v) (i32.const 32767))))
        (local.set $v (select (local.get $v) (i32.const -32768) (i32.gt_s (local.get $v) (i32.const -32768))))
        (i32.store16 (local.get $out) (local.get $v))
        (local.set $out (i32.add (local.get $out) (local.get $stride)))
        (local.set $pos (i32.add (local.get $pos) (local.get $intAdv)))
        (local.set $frac (i32.add (local.get $frac) (local.get $fracAdv)))
        (if (i32.ge_u (local.get $frac) (local.get $phases))
          (then
            (local.set $frac (i32.sub (local.get $frac) (local.get $phases)))
            (local.set $pos (i32.add (local.get $pos) (i32.const 1)))))
        (local.set $count (i32.sub (local.get $count) (i32.const 1)))
        (br $output))))
)
