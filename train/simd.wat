;; SIMD kernels for training on the wasm backend, run on TF.js's own heap (the
;; memory is imported, so tensors are read and written in place). Compiled at
;; start-up by train/simd.ts. All pointers and strides are in bytes.
(module
  (import "env" "mem" (memory 1))

  ;; C[m,n] (row stride ldc) = (acc ? C : 0) + A[m,k] B[k,n], from packed
  ;; operands: A in panels of 4 rows ([ceil(m/4)][k][4]), B in panels of 8
  ;; columns ([ceil(n/8)][k][8]), both zero-padded. Tiles of 4x8 in registers,
  ;; one fused multiply-add per lane and k; edge tiles go through tmp (128 B).
  (func (export "gemm")
    (param $ap i32) (param $bp i32) (param $c i32) (param $ldc i32)
    (param $m i32) (param $n i32) (param $k i32) (param $acc i32) (param $tmp i32)
    (local $i i32) (local $j i32) (local $kk i32) (local $pa i32) (local $pb i32) (local $pc i32)
        (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (block $done
      (loop $lj
        (br_if $done (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $i (i32.const 0))
        (block $idone
          (loop $li
            (br_if $idone (i32.ge_s (local.get $i) (local.get $m)))
            (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
            (local.set $pa (i32.add (local.get $ap) (i32.mul (local.get $i) (i32.shl (local.get $k) (i32.const 2)))))
            (local.set $pb (i32.add (local.get $bp) (i32.mul (local.get $j) (i32.shl (local.get $k) (i32.const 2)))))
            ;; k in steps of 4 (unrolled), then one at a time
            (local.set $kk (local.get $k))
            (block $k4done
              (loop $lk4
                (br_if $k4done (i32.lt_s (local.get $kk) (i32.const 4)))
                  (local.set $b0 (v128.load offset=0 (local.get $pb)))
                  (local.set $b1 (v128.load offset=16 (local.get $pb)))
                  (local.set $x (v128.load32_splat offset=0 (local.get $pa)))
                  (local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c00)))
                  (local.set $c01 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c01)))
                  (local.set $x (v128.load32_splat offset=4 (local.get $pa)))
                  (local.set $c10 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c10)))
                  (local.set $c11 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c11)))
                  (local.set $x (v128.load32_splat offset=8 (local.get $pa)))
                  (local.set $c20 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c20)))
                  (local.set $c21 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c21)))
                  (local.set $x (v128.load32_splat offset=12 (local.get $pa)))
                  (local.set $c30 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c30)))
                  (local.set $c31 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c31)))
                  (local.set $b0 (v128.load offset=32 (local.get $pb)))
                  (local.set $b1 (v128.load offset=48 (local.get $pb)))
                  (local.set $x (v128.load32_splat offset=16 (local.get $pa)))
                  (local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c00)))
                  (local.set $c01 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c01)))
                  (local.set $x (v128.load32_splat offset=20 (local.get $pa)))
                  (local.set $c10 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c10)))
                  (local.set $c11 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c11)))
                  (local.set $x (v128.load32_splat offset=24 (local.get $pa)))
                  (local.set $c20 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c20)))
                  (local.set $c21 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c21)))
                  (local.set $x (v128.load32_splat offset=28 (local.get $pa)))
                  (local.set $c30 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c30)))
                  (local.set $c31 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c31)))
                  (local.set $b0 (v128.load offset=64 (local.get $pb)))
                  (local.set $b1 (v128.load offset=80 (local.get $pb)))
                  (local.set $x (v128.load32_splat offset=32 (local.get $pa)))
                  (local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c00)))
                  (local.set $c01 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c01)))
                  (local.set $x (v128.load32_splat offset=36 (local.get $pa)))
                  (local.set $c10 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c10)))
                  (local.set $c11 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c11)))
                  (local.set $x (v128.load32_splat offset=40 (local.get $pa)))
                  (local.set $c20 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c20)))
                  (local.set $c21 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c21)))
                  (local.set $x (v128.load32_splat offset=44 (local.get $pa)))
                  (local.set $c30 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c30)))
                  (local.set $c31 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c31)))
                  (local.set $b0 (v128.load offset=96 (local.get $pb)))
                  (local.set $b1 (v128.load offset=112 (local.get $pb)))
                  (local.set $x (v128.load32_splat offset=48 (local.get $pa)))
                  (local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c00)))
                  (local.set $c01 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c01)))
                  (local.set $x (v128.load32_splat offset=52 (local.get $pa)))
                  (local.set $c10 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c10)))
                  (local.set $c11 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c11)))
                  (local.set $x (v128.load32_splat offset=56 (local.get $pa)))
                  (local.set $c20 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c20)))
                  (local.set $c21 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c21)))
                  (local.set $x (v128.load32_splat offset=60 (local.get $pa)))
                  (local.set $c30 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c30)))
                  (local.set $c31 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c31)))
                (local.set $pa (i32.add (local.get $pa) (i32.const 64)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 128)))
                (local.set $kk (i32.sub (local.get $kk) (i32.const 4)))
                (br $lk4)))
            (block $kdone
              (loop $lk
                (br_if $kdone (i32.eqz (local.get $kk)))
                  (local.set $b0 (v128.load offset=0 (local.get $pb)))
                  (local.set $b1 (v128.load offset=16 (local.get $pb)))
                  (local.set $x (v128.load32_splat offset=0 (local.get $pa)))
                  (local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c00)))
                  (local.set $c01 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c01)))
                  (local.set $x (v128.load32_splat offset=4 (local.get $pa)))
                  (local.set $c10 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c10)))
                  (local.set $c11 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c11)))
                  (local.set $x (v128.load32_splat offset=8 (local.get $pa)))
                  (local.set $c20 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c20)))
                  (local.set $c21 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c21)))
                  (local.set $x (v128.load32_splat offset=12 (local.get $pa)))
                  (local.set $c30 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c30)))
                  (local.set $c31 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c31)))
                (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
                (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
                (br $lk)))
            (local.set $pc (i32.add (local.get $c)
              (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $j) (i32.const 2)))))
            (call $store_tile (local.get $pc) (local.get $ldc) (i32.sub (local.get $m) (local.get $i))
              (i32.sub (local.get $n) (local.get $j)) (local.get $acc) (local.get $tmp)
              (local.get $c00) (local.get $c01) (local.get $c10) (local.get $c11)
              (local.get $c20) (local.get $c21) (local.get $c30) (local.get $c31))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $li)))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $lj))))

  ;; Store a 4x8 tile (rows c0*, c1*, c2*, c3*) at pc (row stride ldc), adding
  ;; to what is there when acc; only the first mr rows and nr columns when
  ;; the tile is cut by C's edge (through tmp, 128 B).
  (func $store_tile
    (param $pc i32) (param $ldc i32) (param $mr i32) (param $nr i32) (param $acc i32) (param $tmp i32)
    (param $c00 v128) (param $c01 v128) (param $c10 v128) (param $c11 v128)
    (param $c20 v128) (param $c21 v128) (param $c30 v128) (param $c31 v128)
    (local $addr i32) (local $r i32) (local $q i32) (local $v f32)
    (if (i32.and (i32.ge_s (local.get $mr) (i32.const 4)) (i32.ge_s (local.get $nr) (i32.const 8)))
      (then
        (if (local.get $acc)
          (then
            (local.set $addr (local.get $pc))
            (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $addr))))
            (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $addr))))
            (local.set $addr (i32.add (local.get $addr) (local.get $ldc)))
            (local.set $c10 (f32x4.add (local.get $c10) (v128.load (local.get $addr))))
            (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=16 (local.get $addr))))
            (local.set $addr (i32.add (local.get $addr) (local.get $ldc)))
            (local.set $c20 (f32x4.add (local.get $c20) (v128.load (local.get $addr))))
            (local.set $c21 (f32x4.add (local.get $c21) (v128.load offset=16 (local.get $addr))))
            (local.set $addr (i32.add (local.get $addr) (local.get $ldc)))
            (local.set $c30 (f32x4.add (local.get $c30) (v128.load (local.get $addr))))
            (local.set $c31 (f32x4.add (local.get $c31) (v128.load offset=16 (local.get $addr))))))
        (local.set $addr (local.get $pc))
        (v128.store (local.get $addr) (local.get $c00))
        (v128.store offset=16 (local.get $addr) (local.get $c01))
        (local.set $addr (i32.add (local.get $addr) (local.get $ldc)))
        (v128.store (local.get $addr) (local.get $c10))
        (v128.store offset=16 (local.get $addr) (local.get $c11))
        (local.set $addr (i32.add (local.get $addr) (local.get $ldc)))
        (v128.store (local.get $addr) (local.get $c20))
        (v128.store offset=16 (local.get $addr) (local.get $c21))
        (local.set $addr (i32.add (local.get $addr) (local.get $ldc)))
        (v128.store (local.get $addr) (local.get $c30))
        (v128.store offset=16 (local.get $addr) (local.get $c31)))
      (else
        (v128.store offset=0 (local.get $tmp) (local.get $c00))
        (v128.store offset=16 (local.get $tmp) (local.get $c01))
        (v128.store offset=32 (local.get $tmp) (local.get $c10))
        (v128.store offset=48 (local.get $tmp) (local.get $c11))
        (v128.store offset=64 (local.get $tmp) (local.get $c20))
        (v128.store offset=80 (local.get $tmp) (local.get $c21))
        (v128.store offset=96 (local.get $tmp) (local.get $c30))
        (v128.store offset=112 (local.get $tmp) (local.get $c31))
        (local.set $r (i32.const 0))
        (block $rdone
          (loop $lr
            (br_if $rdone (i32.or (i32.ge_s (local.get $r) (i32.const 4))
                                  (i32.ge_s (local.get $r) (local.get $mr))))
            (local.set $q (i32.const 0))
            (block $qdone
              (loop $lq
                (br_if $qdone (i32.or (i32.ge_s (local.get $q) (i32.const 8))
                                      (i32.ge_s (local.get $q) (local.get $nr))))
                (local.set $addr (i32.add (local.get $pc)
                  (i32.add (i32.mul (local.get $r) (local.get $ldc)) (i32.shl (local.get $q) (i32.const 2)))))
                (local.set $v (f32.load (i32.add (local.get $tmp)
                  (i32.shl (i32.add (i32.shl (local.get $r) (i32.const 3)) (local.get $q)) (i32.const 2)))))
                (if (local.get $acc) (then (local.set $v (f32.add (local.get $v) (f32.load (local.get $addr))))))
                (f32.store (local.get $addr) (local.get $v))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $lq)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $lr))))))

  ;; Pack A[r,kk] = src[r*rs + kk*cs] into panels of 4 rows, zero-padded.
  (func (export "pack_a")
    (param $src i32) (param $rs i32) (param $cs i32) (param $m i32) (param $k i32) (param $dst i32)
    (local $p i32) (local $kk i32) (local $r i32) (local $s i32) (local $row i32)
    (block $done
      (loop $lp
        (br_if $done (i32.ge_s (local.get $p) (local.get $m)))
        (local.set $kk (i32.const 0))
        (if (i32.and (i32.eq (local.get $rs) (i32.const 4)) (i32.le_s (i32.add (local.get $p) (i32.const 4)) (local.get $m)))
          (then ;; four contiguous rows: one vector per kk
            (local.set $s (i32.add (local.get $src) (i32.shl (local.get $p) (i32.const 2))))
            (block $kd
              (loop $lk
                (br_if $kd (i32.ge_s (local.get $kk) (local.get $k)))
                (v128.store (local.get $dst) (v128.load (local.get $s)))
                (local.set $s (i32.add (local.get $s) (local.get $cs)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
                (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
                (br $lk))))
          (else
            (block $kd
              (loop $lk
                (br_if $kd (i32.ge_s (local.get $kk) (local.get $k)))
                (local.set $r (i32.const 0))
                (loop $lr
                  (local.set $row (i32.add (local.get $p) (local.get $r)))
                  (f32.store (local.get $dst)
                    (if (result f32) (i32.lt_s (local.get $row) (local.get $m))
                      (then (f32.load (i32.add (local.get $src)
                        (i32.add (i32.mul (local.get $row) (local.get $rs)) (i32.mul (local.get $kk) (local.get $cs))))))
                      (else (f32.const 0))))
                  (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                  (br_if $lr (i32.lt_s (local.tee $r (i32.add (local.get $r) (i32.const 1))) (i32.const 4))))
                (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
                (br $lk)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $lp))))

  ;; Pack B[kk,col] = src[kk*rs + col*cs] into panels of 8 columns, zero-padded.
  (func (export "pack_b")
    (param $src i32) (param $rs i32) (param $cs i32) (param $k i32) (param $n i32) (param $dst i32)
    (local $q i32) (local $kk i32) (local $t i32) (local $s i32) (local $col i32)
    (block $done
      (loop $lq
        (br_if $done (i32.ge_s (local.get $q) (local.get $n)))
        (local.set $kk (i32.const 0))
        (if (i32.and (i32.eq (local.get $cs) (i32.const 4)) (i32.le_s (i32.add (local.get $q) (i32.const 8)) (local.get $n)))
          (then ;; eight contiguous columns: two vectors per kk
            (local.set $s (i32.add (local.get $src) (i32.shl (local.get $q) (i32.const 2))))
            (block $kd
              (loop $lk
                (br_if $kd (i32.ge_s (local.get $kk) (local.get $k)))
                (v128.store (local.get $dst) (v128.load (local.get $s)))
                (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $s)))
                (local.set $s (i32.add (local.get $s) (local.get $rs)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
                (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
                (br $lk))))
          (else
            (block $kd
              (loop $lk
                (br_if $kd (i32.ge_s (local.get $kk) (local.get $k)))
                (local.set $t (i32.const 0))
                (loop $lt
                  (local.set $col (i32.add (local.get $q) (local.get $t)))
                  (f32.store (local.get $dst)
                    (if (result f32) (i32.lt_s (local.get $col) (local.get $n))
                      (then (f32.load (i32.add (local.get $src)
                        (i32.add (i32.mul (local.get $kk) (local.get $rs)) (i32.mul (local.get $col) (local.get $cs))))))
                      (else (f32.const 0))))
                  (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                  (br_if $lt (i32.lt_s (local.tee $t (i32.add (local.get $t) (i32.const 1))) (i32.const 8))))
                (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
                (br $lk)))))
        (local.set $q (i32.add (local.get $q) (i32.const 8)))
        (br $lq))))

  ;; Copy an NHWC image batch [n, h, w, c] into a zeroed [n, hp, wp, c] one at
  ;; row top, column left (the convolution's padding made explicit).
  (func (export "pad_copy")
    (param $x i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
    (param $top i32) (param $left i32) (param $hp i32) (param $wp i32) (param $dst i32)
    (local $img i32) (local $y i32) (local $row i32) (local $prow i32)
    (memory.fill (local.get $dst) (i32.const 0)
      (i32.shl (i32.mul (i32.mul (local.get $n) (local.get $hp)) (i32.mul (local.get $wp) (local.get $c))) (i32.const 2)))
    (local.set $row (i32.shl (i32.mul (local.get $w) (local.get $c)) (i32.const 2)))
    (local.set $prow (i32.shl (i32.mul (local.get $wp) (local.get $c)) (i32.const 2)))
    (block $done
      (loop $li
        (br_if $done (i32.ge_s (local.get $img) (local.get $n)))
        (local.set $y (i32.const 0))
        (block $ydone
          (loop $ly
            (br_if $ydone (i32.ge_s (local.get $y) (local.get $h)))
            (memory.copy
              (i32.add (local.get $dst) (i32.add
                (i32.mul (i32.add (i32.mul (local.get $img) (local.get $hp)) (i32.add (local.get $top) (local.get $y)))
                  (local.get $prow))
                (i32.shl (i32.mul (local.get $left) (local.get $c)) (i32.const 2))))
              (local.get $x)
              (local.get $row))
            (local.set $x (i32.add (local.get $x) (local.get $row)))
            (local.set $y (i32.add (local.get $y) (i32.const 1)))
            (br $ly)))
        (local.set $img (i32.add (local.get $img) (i32.const 1)))
        (br $li))))

  ;; Transposed im2col of a padded NHWC input (pad_copy) as a packed A
  ;; operand: rows are the filter taps (a, b, c) in filter order, in panels of
  ;; 4; columns (the k axis) are output pixels p0..p1-1 in (n, y, x) order.
  ;; offs: i32 byte offset of each row from its pixel's window corner (4 per
  ;; panel; the padding rows' values are never stored by the GEMM, offset 0).
  ;; vec = 1 when ci % 4 == 0: a panel is then 4 consecutive channels of one
  ;; tap, read as one vector. geo: i32 [hp, wp, ci, oh, ow, sh, sw].
  (func (export "im2col_a")
    (param $xp i32) (param $geo i32) (param $offs i32) (param $groups i32) (param $vec i32)
    (param $p0 i32) (param $p1 i32) (param $dst i32)
    (local $hp i32) (local $wp i32) (local $ci i32) (local $oh i32) (local $ow i32)
    (local $sh i32) (local $sw i32) (local $rows i32) (local $p i32) (local $nb i32) (local $y i32)
    (local $xo i32) (local $base i32) (local $g i32) (local $o i32) (local $out i32) (local $panel i32)
    (local.set $hp (i32.load offset=0 (local.get $geo)))
    (local.set $wp (i32.load offset=4 (local.get $geo)))
    (local.set $ci (i32.load offset=8 (local.get $geo)))
    (local.set $oh (i32.load offset=12 (local.get $geo)))
    (local.set $ow (i32.load offset=16 (local.get $geo)))
    (local.set $sh (i32.load offset=20 (local.get $geo)))
    (local.set $sw (i32.load offset=24 (local.get $geo)))
    (local.set $rows (i32.sub (local.get $p1) (local.get $p0)))
    (local.set $panel (i32.shl (local.get $rows) (i32.const 4)))
    (local.set $nb (i32.div_u (local.get $p0) (i32.mul (local.get $oh) (local.get $ow))))
    (local.set $y (i32.div_u (i32.rem_u (local.get $p0) (i32.mul (local.get $oh) (local.get $ow))) (local.get $ow)))
    (local.set $xo (i32.rem_u (local.get $p0) (local.get $ow)))
    (block $done
      (loop $lp
        (br_if $done (i32.ge_s (local.get $p) (local.get $rows)))
        (local.set $base (i32.add (local.get $xp) (i32.shl (i32.mul (i32.add
          (i32.mul (i32.add (i32.mul (local.get $nb) (local.get $hp)) (i32.mul (local.get $y) (local.get $sh)))
            (local.get $wp))
          (i32.mul (local.get $xo) (local.get $sw))) (local.get $ci)) (i32.const 2))))
        (local.set $out (i32.add (local.get $dst) (i32.shl (local.get $p) (i32.const 4))))
        (local.set $o (local.get $offs))
        (local.set $g (i32.const 0))
        (if (local.get $vec)
          (then
            (loop $lv
              (v128.store (local.get $out) (v128.load (i32.add (local.get $base) (i32.load (local.get $o)))))
              (local.set $o (i32.add (local.get $o) (i32.const 16)))
              (local.set $out (i32.add (local.get $out) (local.get $panel)))
              (br_if $lv (i32.lt_s (local.tee $g (i32.add (local.get $g) (i32.const 1))) (local.get $groups)))))
          (else
            (loop $ls
              (v128.store (local.get $out)
                (f32x4.replace_lane 3
                  (f32x4.replace_lane 2
                    (f32x4.replace_lane 1
                      (f32x4.splat (f32.load (i32.add (local.get $base) (i32.load (local.get $o)))))
                      (f32.load (i32.add (local.get $base) (i32.load offset=4 (local.get $o)))))
                    (f32.load (i32.add (local.get $base) (i32.load offset=8 (local.get $o)))))
                  (f32.load (i32.add (local.get $base) (i32.load offset=12 (local.get $o))))))
              (local.set $o (i32.add (local.get $o) (i32.const 16)))
              (local.set $out (i32.add (local.get $out) (local.get $panel)))
              (br_if $ls (i32.lt_s (local.tee $g (i32.add (local.get $g) (i32.const 1))) (local.get $groups))))))
        ;; next pixel
        (local.set $xo (i32.add (local.get $xo) (i32.const 1)))
        (if (i32.eq (local.get $xo) (local.get $ow))
          (then
            (local.set $xo (i32.const 0))
            (local.set $y (i32.add (local.get $y) (i32.const 1)))
            (if (i32.eq (local.get $y) (local.get $oh))
              (then (local.set $y (i32.const 0)) (local.set $nb (i32.add (local.get $nb) (i32.const 1)))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $lp))))

  ;; Filter gradient without im2col: C[r, co] (row stride ldc) (+)= sum over
  ;; output pixels p0..p1-1 of xp[window corner of p + offs[r]] * dy[p, co],
  ;; xp the padded NHWC input (pad_copy), offs the byte offset of each filter
  ;; tap (a, b, c) (zero-padded to a multiple of 4), dy NHWC with co % 8 == 0.
  ;; Tiles of 4 taps x 8 channels; each walks the pixels once, reading the
  ;; input in place and dy's row directly. acc: add to C; tmp as gemm's.
  (func (export "conv_dw")
    (param $xp i32) (param $geo i32) (param $offs i32) (param $dy i32) (param $co i32)
    (param $c i32) (param $rows i32) (param $p0 i32) (param $p1 i32) (param $acc i32) (param $tmp i32)
    (local $hp i32) (local $wp i32) (local $ci i32) (local $oh i32) (local $ow i32) (local $sh i32) (local $sw i32)
    (local $i i32) (local $j i32) (local $p i32) (local $a i32) (local $dyp i32) (local $ldc i32) (local $step i32)
    (local $o0 i32) (local $o1 i32) (local $o2 i32) (local $o3 i32) (local $img i32) (local $y i32) (local $xo i32)
    (local $pc i32) (local $run i32) (local $a2 i32) (local $dyp2 i32) (local $ldc2 i32) (local $step2 i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local.set $hp (i32.load offset=0 (local.get $geo)))
    (local.set $wp (i32.load offset=4 (local.get $geo)))
    (local.set $ci (i32.load offset=8 (local.get $geo)))
    (local.set $oh (i32.load offset=12 (local.get $geo)))
    (local.set $ow (i32.load offset=16 (local.get $geo)))
    (local.set $sh (i32.load offset=20 (local.get $geo)))
    (local.set $sw (i32.load offset=24 (local.get $geo)))
    (local.set $ldc (i32.shl (local.get $co) (i32.const 2)))
    (local.set $step (i32.shl (i32.mul (local.get $sw) (local.get $ci)) (i32.const 2)))
    (local.set $step2 (i32.shl (local.get $step) (i32.const 1)))
    (local.set $ldc2 (i32.shl (local.get $ldc) (i32.const 1)))
    (block $jdone
      (loop $lj
        (br_if $jdone (i32.ge_s (local.get $j) (local.get $co)))
        (local.set $i (i32.const 0))
        (block $idone
          (loop $li
            (br_if $idone (i32.ge_s (local.get $i) (local.get $rows)))
            (local.set $o0 (i32.load offset=0 (i32.add (local.get $offs) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $o1 (i32.load offset=4 (i32.add (local.get $offs) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $o2 (i32.load offset=8 (i32.add (local.get $offs) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $o3 (i32.load offset=12 (i32.add (local.get $offs) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
            (local.set $img (i32.div_u (local.get $p0) (i32.mul (local.get $oh) (local.get $ow))))
            (local.set $y (i32.div_u (i32.rem_u (local.get $p0) (i32.mul (local.get $oh) (local.get $ow))) (local.get $ow)))
            (local.set $xo (i32.rem_u (local.get $p0) (local.get $ow)))
            (local.set $dyp (i32.add (local.get $dy)
              (i32.add (i32.mul (local.get $p0) (local.get $ldc)) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $dyp2 (i32.add (local.get $dyp) (local.get $ldc)))
            (local.set $p (local.get $p0))
            ;; runs of pixels along an output row: the window steps by a
            ;; constant, two pixels per iteration
            (block $pdone
              (loop $lp
                (br_if $pdone (i32.ge_s (local.get $p) (local.get $p1)))
                (local.set $a (i32.add (local.get $xp) (i32.shl (i32.mul (i32.add (i32.mul
                  (i32.add (i32.mul (local.get $img) (local.get $hp)) (i32.mul (local.get $y) (local.get $sh)))
                  (local.get $wp)) (i32.mul (local.get $xo) (local.get $sw))) (local.get $ci)) (i32.const 2))))
                (local.set $run (i32.sub (local.get $ow) (local.get $xo)))
                (if (i32.gt_s (local.get $run) (i32.sub (local.get $p1) (local.get $p)))
                  (then (local.set $run (i32.sub (local.get $p1) (local.get $p)))))
                (local.set $p (i32.add (local.get $p) (local.get $run)))
                (local.set $xo (i32.add (local.get $xo) (local.get $run)))
                (if (i32.eq (local.get $xo) (local.get $ow))
                  (then
                    (local.set $xo (i32.const 0))
                    (local.set $y (i32.add (local.get $y) (i32.const 1)))
                    (if (i32.eq (local.get $y) (local.get $oh))
                      (then (local.set $y (i32.const 0)) (local.set $img (i32.add (local.get $img) (i32.const 1)))))))
                (local.set $a2 (i32.add (local.get $a) (local.get $step)))
                (block $twodone
                  (loop $l2
                    (br_if $twodone (i32.lt_s (local.get $run) (i32.const 2)))
                    (local.set $b0 (v128.load offset=0 (local.get $dyp)))
                    (local.set $b1 (v128.load offset=16 (local.get $dyp)))
                    (local.set $x (v128.load32_splat (i32.add (local.get $a) (local.get $o0))))
                    (local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c00)))
                    (local.set $c01 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c01)))
                    (local.set $x (v128.load32_splat (i32.add (local.get $a) (local.get $o1))))
                    (local.set $c10 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c10)))
                    (local.set $c11 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c11)))
                    (local.set $x (v128.load32_splat (i32.add (local.get $a) (local.get $o2))))
                    (local.set $c20 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c20)))
                    (local.set $c21 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c21)))
                    (local.set $x (v128.load32_splat (i32.add (local.get $a) (local.get $o3))))
                    (local.set $c30 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c30)))
                    (local.set $c31 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c31)))
                    (local.set $b0 (v128.load offset=0 (local.get $dyp2)))
                    (local.set $b1 (v128.load offset=16 (local.get $dyp2)))
                    (local.set $x (v128.load32_splat (i32.add (local.get $a2) (local.get $o0))))
                    (local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c00)))
                    (local.set $c01 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c01)))
                    (local.set $x (v128.load32_splat (i32.add (local.get $a2) (local.get $o1))))
                    (local.set $c10 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c10)))
                    (local.set $c11 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c11)))
                    (local.set $x (v128.load32_splat (i32.add (local.get $a2) (local.get $o2))))
                    (local.set $c20 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c20)))
                    (local.set $c21 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c21)))
                    (local.set $x (v128.load32_splat (i32.add (local.get $a2) (local.get $o3))))
                    (local.set $c30 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c30)))
                    (local.set $c31 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c31)))
                    (local.set $dyp (i32.add (local.get $dyp) (local.get $ldc2)))
                    (local.set $dyp2 (i32.add (local.get $dyp2) (local.get $ldc2)))
                    (local.set $a (i32.add (local.get $a) (local.get $step2)))
                    (local.set $a2 (i32.add (local.get $a2) (local.get $step2)))
                    (local.set $run (i32.sub (local.get $run) (i32.const 2)))
                    (br $l2)))
                (if (local.get $run)
                  (then
                    (local.set $b0 (v128.load offset=0 (local.get $dyp)))
                    (local.set $b1 (v128.load offset=16 (local.get $dyp)))
                    (local.set $x (v128.load32_splat (i32.add (local.get $a) (local.get $o0))))
                    (local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c00)))
                    (local.set $c01 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c01)))
                    (local.set $x (v128.load32_splat (i32.add (local.get $a) (local.get $o1))))
                    (local.set $c10 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c10)))
                    (local.set $c11 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c11)))
                    (local.set $x (v128.load32_splat (i32.add (local.get $a) (local.get $o2))))
                    (local.set $c20 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c20)))
                    (local.set $c21 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c21)))
                    (local.set $x (v128.load32_splat (i32.add (local.get $a) (local.get $o3))))
                    (local.set $c30 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c30)))
                    (local.set $c31 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c31)))
                    (local.set $dyp (i32.add (local.get $dyp) (local.get $ldc)))
                    (local.set $dyp2 (i32.add (local.get $dyp2) (local.get $ldc)))))
                (br $lp)))
            (local.set $pc (i32.add (local.get $c)
              (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $j) (i32.const 2)))))
            (call $store_tile (local.get $pc) (local.get $ldc) (i32.sub (local.get $rows) (local.get $i))
              (i32.sub (local.get $co) (local.get $j)) (local.get $acc) (local.get $tmp)
              (local.get $c00) (local.get $c01) (local.get $c10) (local.get $c11)
              (local.get $c20) (local.get $c21) (local.get $c30) (local.get $c31))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $li)))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $lj))))

  ;; Convolution as an indirect GEMM (no im2col): C[p, co] (row stride ldc) =
  ;; sum over k of xp[window corner of pixel p + offs[k]] * B[k, co], where xp
  ;; is the padded NHWC input (pad_copy), offs the byte offset of each filter
  ;; tap (a, b, c) in filter order, and B the filter [k, co] packed in panels
  ;; of 8 columns (pack_b). Output pixels p0..p1-1 in (n, y, x) order, tiles
  ;; of 4 pixels x 8 channels (each tile's window corners found once, for
  ;; all its channel panels), edge tiles through tmp (128 B).
  ;; geo: i32 [hp, wp, ci, oh, ow, sh, sw].
  (func (export "conv_gemm")
    (param $xp i32) (param $geo i32) (param $offs i32) (param $k i32) (param $bp i32) (param $co i32)
    (param $c i32) (param $ldc i32) (param $p0 i32) (param $p1 i32) (param $tmp i32)
    (local $hp i32) (local $wp i32) (local $ci i32) (local $oh i32) (local $ow i32) (local $sh i32) (local $sw i32)
    (local $i i32) (local $j i32) (local $kk i32) (local $po i32) (local $pb i32) (local $pc i32) (local $off i32)
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $r i32) (local $q i32) (local $addr i32)
    (local $a i32) (local $step i32)
    (local $img i32) (local $y i32) (local $xo i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $x v128)
    (local.set $hp (i32.load offset=0 (local.get $geo)))
    (local.set $wp (i32.load offset=4 (local.get $geo)))
    (local.set $ci (i32.load offset=8 (local.get $geo)))
    (local.set $oh (i32.load offset=12 (local.get $geo)))
    (local.set $ow (i32.load offset=16 (local.get $geo)))
    (local.set $sh (i32.load offset=20 (local.get $geo)))
    (local.set $sw (i32.load offset=24 (local.get $geo)))
    (local.set $img (i32.div_u (local.get $p0) (i32.mul (local.get $oh) (local.get $ow))))
    (local.set $y (i32.div_u (i32.rem_u (local.get $p0) (i32.mul (local.get $oh) (local.get $ow))) (local.get $ow)))
    (local.set $xo (i32.rem_u (local.get $p0) (local.get $ow)))
    (local.set $step (i32.shl (i32.mul (local.get $sw) (local.get $ci)) (i32.const 2)))
    (local.set $a (i32.add (local.get $xp) (i32.shl (i32.mul (i32.add (i32.mul
      (i32.add (i32.mul (local.get $img) (local.get $hp)) (i32.mul (local.get $y) (local.get $sh)))
      (local.get $wp)) (i32.mul (local.get $xo) (local.get $sw))) (local.get $ci)) (i32.const 2))))
    (local.set $i (local.get $p0))
    (block $done
      (loop $li
        (br_if $done (i32.ge_s (local.get $i) (local.get $p1)))
        ;; window corners of pixels i..i+3, stepping (img, y, x) inline (a
        ;; call would spill); past p1: pixel i's
        (local.set $a0 (local.get $a))
        (local.set $xo (i32.add (local.get $xo) (i32.const 1)))
        (local.set $a (i32.add (local.get $a) (local.get $step)))
        (if (i32.eq (local.get $xo) (local.get $ow))
          (then
            (local.set $xo (i32.const 0))
            (local.set $y (i32.add (local.get $y) (i32.const 1)))
            (if (i32.eq (local.get $y) (local.get $oh))
              (then (local.set $y (i32.const 0)) (local.set $img (i32.add (local.get $img) (i32.const 1)))))
            (local.set $a (i32.add (local.get $xp) (i32.shl (i32.mul (i32.add (i32.mul
              (i32.add (i32.mul (local.get $img) (local.get $hp)) (i32.mul (local.get $y) (local.get $sh)))
              (local.get $wp)) (i32.mul (local.get $xo) (local.get $sw))) (local.get $ci)) (i32.const 2))))))
        (local.set $a1 (select (local.get $a) (local.get $a0) (i32.lt_s (i32.add (local.get $i) (i32.const 1)) (local.get $p1))))
        (local.set $xo (i32.add (local.get $xo) (i32.const 1)))
        (local.set $a (i32.add (local.get $a) (local.get $step)))
        (if (i32.eq (local.get $xo) (local.get $ow))
          (then
            (local.set $xo (i32.const 0))
            (local.set $y (i32.add (local.get $y) (i32.const 1)))
            (if (i32.eq (local.get $y) (local.get $oh))
              (then (local.set $y (i32.const 0)) (local.set $img (i32.add (local.get $img) (i32.const 1)))))
            (local.set $a (i32.add (local.get $xp) (i32.shl (i32.mul (i32.add (i32.mul
              (i32.add (i32.mul (local.get $img) (local.get $hp)) (i32.mul (local.get $y) (local.get $sh)))
              (local.get $wp)) (i32.mul (local.get $xo) (local.get $sw))) (local.get $ci)) (i32.const 2))))))
        (local.set $a2 (select (local.get $a) (local.get $a0) (i32.lt_s (i32.add (local.get $i) (i32.const 2)) (local.get $p1))))
        (local.set $xo (i32.add (local.get $xo) (i32.const 1)))
        (local.set $a (i32.add (local.get $a) (local.get $step)))
        (if (i32.eq (local.get $xo) (local.get $ow))
          (then
            (local.set $xo (i32.const 0))
            (local.set $y (i32.add (local.get $y) (i32.const 1)))
            (if (i32.eq (local.get $y) (local.get $oh))
              (then (local.set $y (i32.const 0)) (local.set $img (i32.add (local.get $img) (i32.const 1)))))
            (local.set $a (i32.add (local.get $xp) (i32.shl (i32.mul (i32.add (i32.mul
              (i32.add (i32.mul (local.get $img) (local.get $hp)) (i32.mul (local.get $y) (local.get $sh)))
              (local.get $wp)) (i32.mul (local.get $xo) (local.get $sw))) (local.get $ci)) (i32.const 2))))))
        (local.set $a3 (select (local.get $a) (local.get $a0) (i32.lt_s (i32.add (local.get $i) (i32.const 3)) (local.get $p1))))
        (local.set $xo (i32.add (local.get $xo) (i32.const 1)))
        (local.set $a (i32.add (local.get $a) (local.get $step)))
        (if (i32.eq (local.get $xo) (local.get $ow))
          (then
            (local.set $xo (i32.const 0))
            (local.set $y (i32.add (local.get $y) (i32.const 1)))
            (if (i32.eq (local.get $y) (local.get $oh))
              (then (local.set $y (i32.const 0)) (local.set $img (i32.add (local.get $img) (i32.const 1)))))
            (local.set $a (i32.add (local.get $xp) (i32.shl (i32.mul (i32.add (i32.mul
              (i32.add (i32.mul (local.get $img) (local.get $hp)) (i32.mul (local.get $y) (local.get $sh)))
              (local.get $wp)) (i32.mul (local.get $xo) (local.get $sw))) (local.get $ci)) (i32.const 2))))))
        (local.set $j (i32.const 0))
        (loop $lj
            (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
            (local.set $po (local.get $offs))
            (local.set $pb (i32.add (local.get $bp) (i32.mul (local.get $j) (i32.shl (local.get $k) (i32.const 2)))))
            ;; k in steps of 4 (unrolled), then one at a time
            (local.set $kk (local.get $k))
            (block $k4done
              (loop $lk4
                (br_if $k4done (i32.lt_s (local.get $kk) (i32.const 4)))
                (local.set $off (i32.load offset=0 (local.get $po)))
                (local.set $b0 (v128.load offset=0 (local.get $pb)))
                (local.set $b1 (v128.load offset=16 (local.get $pb)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a0) (local.get $off))))
                (local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c00)))
                (local.set $c01 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c01)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a1) (local.get $off))))
                (local.set $c10 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c10)))
                (local.set $c11 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c11)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a2) (local.get $off))))
                (local.set $c20 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c20)))
                (local.set $c21 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c21)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a3) (local.get $off))))
                (local.set $c30 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c30)))
                (local.set $c31 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c31)))
                (local.set $off (i32.load offset=4 (local.get $po)))
                (local.set $b0 (v128.load offset=32 (local.get $pb)))
                (local.set $b1 (v128.load offset=48 (local.get $pb)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a0) (local.get $off))))
                (local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c00)))
                (local.set $c01 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c01)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a1) (local.get $off))))
                (local.set $c10 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c10)))
                (local.set $c11 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c11)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a2) (local.get $off))))
                (local.set $c20 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c20)))
                (local.set $c21 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c21)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a3) (local.get $off))))
                (local.set $c30 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c30)))
                (local.set $c31 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c31)))
                (local.set $off (i32.load offset=8 (local.get $po)))
                (local.set $b0 (v128.load offset=64 (local.get $pb)))
                (local.set $b1 (v128.load offset=80 (local.get $pb)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a0) (local.get $off))))
                (local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c00)))
                (local.set $c01 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c01)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a1) (local.get $off))))
                (local.set $c10 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c10)))
                (local.set $c11 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c11)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a2) (local.get $off))))
                (local.set $c20 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c20)))
                (local.set $c21 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c21)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a3) (local.get $off))))
                (local.set $c30 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c30)))
                (local.set $c31 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c31)))
                (local.set $off (i32.load offset=12 (local.get $po)))
                (local.set $b0 (v128.load offset=96 (local.get $pb)))
                (local.set $b1 (v128.load offset=112 (local.get $pb)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a0) (local.get $off))))
                (local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c00)))
                (local.set $c01 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c01)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a1) (local.get $off))))
                (local.set $c10 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c10)))
                (local.set $c11 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c11)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a2) (local.get $off))))
                (local.set $c20 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c20)))
                (local.set $c21 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c21)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a3) (local.get $off))))
                (local.set $c30 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c30)))
                (local.set $c31 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c31)))
                (local.set $po (i32.add (local.get $po) (i32.const 16)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 128)))
                (local.set $kk (i32.sub (local.get $kk) (i32.const 4)))
                (br $lk4)))
            (block $kdone
              (loop $lk
                (br_if $kdone (i32.eqz (local.get $kk)))
                (local.set $off (i32.load offset=0 (local.get $po)))
                (local.set $b0 (v128.load offset=0 (local.get $pb)))
                (local.set $b1 (v128.load offset=16 (local.get $pb)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a0) (local.get $off))))
                (local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c00)))
                (local.set $c01 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c01)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a1) (local.get $off))))
                (local.set $c10 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c10)))
                (local.set $c11 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c11)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a2) (local.get $off))))
                (local.set $c20 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c20)))
                (local.set $c21 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c21)))
                (local.set $x (v128.load32_splat (i32.add (local.get $a3) (local.get $off))))
                (local.set $c30 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c30)))
                (local.set $c31 (f32x4.relaxed_madd (local.get $x) (local.get $b1) (local.get $c31)))
                (local.set $po (i32.add (local.get $po) (i32.const 4)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
                (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
                (br $lk)))
            (local.set $pc (i32.add (local.get $c)
              (i32.add (i32.mul (i32.sub (local.get $i) (local.get $p0)) (local.get $ldc)) (i32.shl (local.get $j) (i32.const 2)))))
            (if (i32.and (i32.le_s (i32.add (local.get $i) (i32.const 4)) (local.get $p1))
                         (i32.le_s (i32.add (local.get $j) (i32.const 8)) (local.get $co)))
              (then
                (local.set $addr (local.get $pc))
                (v128.store (local.get $addr) (local.get $c00))
                (v128.store offset=16 (local.get $addr) (local.get $c01))
                (local.set $addr (i32.add (local.get $addr) (local.get $ldc)))
                (v128.store (local.get $addr) (local.get $c10))
                (v128.store offset=16 (local.get $addr) (local.get $c11))
                (local.set $addr (i32.add (local.get $addr) (local.get $ldc)))
                (v128.store (local.get $addr) (local.get $c20))
                (v128.store offset=16 (local.get $addr) (local.get $c21))
                (local.set $addr (i32.add (local.get $addr) (local.get $ldc)))
                (v128.store (local.get $addr) (local.get $c30))
                (v128.store offset=16 (local.get $addr) (local.get $c31)))
              (else
                (v128.store offset=0 (local.get $tmp) (local.get $c00))
                (v128.store offset=16 (local.get $tmp) (local.get $c01))
                (v128.store offset=32 (local.get $tmp) (local.get $c10))
                (v128.store offset=48 (local.get $tmp) (local.get $c11))
                (v128.store offset=64 (local.get $tmp) (local.get $c20))
                (v128.store offset=80 (local.get $tmp) (local.get $c21))
                (v128.store offset=96 (local.get $tmp) (local.get $c30))
                (v128.store offset=112 (local.get $tmp) (local.get $c31))
                (local.set $r (i32.const 0))
                (block $rdone
                  (loop $lr
                    (br_if $rdone (i32.or (i32.ge_s (local.get $r) (i32.const 4))
                                          (i32.ge_s (i32.add (local.get $i) (local.get $r)) (local.get $p1))))
                    (local.set $q (i32.const 0))
                    (block $qdone
                      (loop $lq
                        (br_if $qdone (i32.or (i32.ge_s (local.get $q) (i32.const 8))
                                              (i32.ge_s (i32.add (local.get $j) (local.get $q)) (local.get $co))))
                        (f32.store
                          (i32.add (local.get $pc) (i32.add (i32.mul (local.get $r) (local.get $ldc)) (i32.shl (local.get $q) (i32.const 2))))
                          (f32.load (i32.add (local.get $tmp)
                            (i32.shl (i32.add (i32.shl (local.get $r) (i32.const 3)) (local.get $q)) (i32.const 2)))))
                        (local.set $q (i32.add (local.get $q) (i32.const 1)))
                        (br $lq)))
                    (local.set $r (i32.add (local.get $r) (i32.const 1)))
                    (br $lr)))))
          (br_if $lj (i32.lt_s (local.tee $j (i32.add (local.get $j) (i32.const 8))) (local.get $co))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $li))))

  ;; Byte address of the window corner of output pixel (img, y, x).
  (func $corner
    (param $xp i32) (param $img i32) (param $y i32) (param $x i32) (param $hp i32) (param $wp i32) (param $ci i32)
    (param $sh i32) (param $sw i32) (result i32)
    (i32.add (local.get $xp) (i32.shl (i32.mul (i32.add
      (i32.mul (i32.add (i32.mul (local.get $img) (local.get $hp)) (i32.mul (local.get $y) (local.get $sh))) (local.get $wp))
      (i32.mul (local.get $x) (local.get $sw))) (local.get $ci)) (i32.const 2))))

  ;; Per-channel sums over rows of [rows, c] (c % 4 == 0) into float64:
  ;; s1[ch] += sum (a - shift), s2[ch] += sum (a - shift) * (b - shift).
  ;; Partial sums run in float32 over 64 rows, then fold into float64.
  (func (export "moments")
    (param $a i32) (param $b i32) (param $shift i32) (param $rows i32) (param $c i32)
    (param $s1 i32) (param $s2 i32)
    (local $g i32) (local $r i32) (local $end i32) (local $off i32) (local $stride i32)
    (local $sh v128) (local $d v128) (local $p1 v128) (local $p2 v128)
    (local.set $stride (i32.shl (local.get $c) (i32.const 2)))
    (block $done
      (loop $lg
        (br_if $done (i32.ge_s (local.get $g) (local.get $c)))
        (local.set $sh (v128.load (i32.add (local.get $shift) (i32.shl (local.get $g) (i32.const 2)))))
        (local.set $off (i32.shl (local.get $g) (i32.const 2)))
        (local.set $r (i32.const 0))
        (block $rdone
          (loop $lb
            (br_if $rdone (i32.ge_s (local.get $r) (local.get $rows)))
            (local.set $end (i32.add (local.get $r) (i32.const 64)))
            (if (i32.gt_s (local.get $end) (local.get $rows)) (then (local.set $end (local.get $rows))))
            (local.set $p1 (v128.const i32x4 0 0 0 0))
            (local.set $p2 (v128.const i32x4 0 0 0 0))
            (loop $lr
              (local.set $d (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $off))) (local.get $sh)))
              (local.set $p1 (f32x4.add (local.get $p1) (local.get $d)))
              (local.set $p2 (f32x4.relaxed_madd (local.get $d)
                (f32x4.sub (v128.load (i32.add (local.get $b) (local.get $off))) (local.get $sh)) (local.get $p2)))
              (local.set $off (i32.add (local.get $off) (local.get $stride)))
              (br_if $lr (i32.lt_s (local.tee $r (i32.add (local.get $r) (i32.const 1))) (local.get $end))))
            (call $fold (i32.add (local.get $s1) (i32.shl (local.get $g) (i32.const 3))) (local.get $p1))
            (call $fold (i32.add (local.get $s2) (i32.shl (local.get $g) (i32.const 3))) (local.get $p2))
            (br $lb)))
        (local.set $g (i32.add (local.get $g) (i32.const 4)))
        (br $lg))))

  ;; f64 at[0..4] += the four lanes of v.
  (func $fold (param $at i32) (param $v v128)
    (v128.store (local.get $at)
      (f64x2.add (v128.load (local.get $at)) (f64x2.promote_low_f32x4 (local.get $v))))
    (v128.store offset=16 (local.get $at)
      (f64x2.add (v128.load offset=16 (local.get $at))
        (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))))

  ;; Batch-norm forward over [rows, c] (c % 4 == 0): xhat = (x - mean) * rstd,
  ;; y = xhat * gamma + beta, then max(y, 0) when relu is set.
  (func (export "bn_apply")
    (param $x i32) (param $rows i32) (param $c i32) (param $mean i32) (param $rstd i32)
    (param $gamma i32) (param $beta i32) (param $y i32) (param $xhat i32) (param $relu i32)
    (local $end i32) (local $g i32) (local $h v128) (local $floor v128)
    ;; relu: floor 0; otherwise -inf, which max() leaves every value above
    (local.set $floor (if (result v128) (local.get $relu)
      (then (v128.const i32x4 0 0 0 0)) (else (v128.const f32x4 -inf -inf -inf -inf))))
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.mul (local.get $rows) (local.get $c)) (i32.const 2))))
    (block $done
      (loop $lr
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $g (i32.const 0))
        (loop $lg
          (local.set $h (f32x4.mul
            (f32x4.sub (v128.load (local.get $x)) (v128.load (i32.add (local.get $mean) (local.get $g))))
            (v128.load (i32.add (local.get $rstd) (local.get $g)))))
          (v128.store (local.get $xhat) (local.get $h))
          (v128.store (local.get $y) (f32x4.max (local.get $floor) (f32x4.relaxed_madd (local.get $h)
            (v128.load (i32.add (local.get $gamma) (local.get $g))) (v128.load (i32.add (local.get $beta) (local.get $g))))))
          (local.set $x (i32.add (local.get $x) (i32.const 16)))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $xhat (i32.add (local.get $xhat) (i32.const 16)))
          (br_if $lg (i32.lt_s (local.tee $g (i32.add (local.get $g) (i32.const 16)))
            (i32.shl (local.get $c) (i32.const 2)))))
        (br $lr))))

  ;; Batch-norm input gradient over [rows, c] (c % 4 == 0):
  ;; dx = scale * (dy - mb - xhat * mg).
  (func (export "bn_grad_apply")
    (param $dy i32) (param $xhat i32) (param $rows i32) (param $c i32) (param $scale i32)
    (param $mb i32) (param $mg i32) (param $dx i32)
    (local $end i32) (local $g i32)
    (local.set $end (i32.add (local.get $dy) (i32.shl (i32.mul (local.get $rows) (local.get $c)) (i32.const 2))))
    (block $done
      (loop $lr
        (br_if $done (i32.ge_u (local.get $dy) (local.get $end)))
        (local.set $g (i32.const 0))
        (loop $lg
          (v128.store (local.get $dx) (f32x4.mul (v128.load (i32.add (local.get $scale) (local.get $g)))
            (f32x4.sub
              (f32x4.sub (v128.load (local.get $dy)) (v128.load (i32.add (local.get $mb) (local.get $g))))
              (f32x4.mul (v128.load (local.get $xhat)) (v128.load (i32.add (local.get $mg) (local.get $g)))))))
          (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
          (local.set $xhat (i32.add (local.get $xhat) (i32.const 16)))
          (local.set $dx (i32.add (local.get $dx) (i32.const 16)))
          (br_if $lg (i32.lt_s (local.tee $g (i32.add (local.get $g) (i32.const 16)))
            (i32.shl (local.get $c) (i32.const 2)))))
        (br $lr))))

  ;; out = dy where y > 0, else 0 (the ReLU gradient), over n floats (n % 4 == 0).
  (func (export "relu_mask") (param $dy i32) (param $y i32) (param $out i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dy) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $dy) (local.get $end)))
        (v128.store (local.get $out) (v128.and (v128.load (local.get $dy))
          (f32x4.gt (v128.load (local.get $y)) (v128.const i32x4 0 0 0 0))))
        (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $l))))

  ;; Batch norm + ReLU + 2x2/2 max pool, forward, over x [n, 2*oh, 2*ow, c]
  ;; (c % 4 == 0; rows = n*oh windows high, ow wide): out = max over each
  ;; window of max(0, (x - mean) * rstd * gamma + beta), as bn_apply then
  ;; max-pooling would give, without writing the full-size intermediates.
  (func (export "bn_relu_pool")
    (param $x i32) (param $rows i32) (param $ow i32) (param $c i32) (param $mean i32) (param $rstd i32)
    (param $gamma i32) (param $beta i32) (param $out i32)
    (local $r i32) (local $xo i32) (local $g i32) (local $cb i32) (local $row i32) (local $base i32)
    (local $mu v128) (local $rs v128) (local $ga v128) (local $be v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $row (i32.mul (i32.shl (local.get $ow) (i32.const 1)) (local.get $cb)))
    (block $done
      (loop $lr
        (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
        (local.set $xo (i32.const 0))
        (loop $lx
          (local.set $g (i32.const 0))
          (loop $lg
            (local.set $base (i32.add (local.get $x) (i32.add (i32.add
              (i32.mul (i32.shl (local.get $r) (i32.const 1)) (local.get $row))
              (i32.mul (i32.shl (local.get $xo) (i32.const 1)) (local.get $cb))) (local.get $g))))
            (local.set $mu (v128.load (i32.add (local.get $mean) (local.get $g))))
            (local.set $rs (v128.load (i32.add (local.get $rstd) (local.get $g))))
            (local.set $ga (v128.load (i32.add (local.get $gamma) (local.get $g))))
            (local.set $be (v128.load (i32.add (local.get $beta) (local.get $g))))
            (v128.store (local.get $out)
              (f32x4.max
                (f32x4.max
                  (f32x4.max
                    (call $bn_relu (v128.load (local.get $base)) (local.get $mu) (local.get $rs) (local.get $ga) (local.get $be))
                    (call $bn_relu (v128.load (i32.add (local.get $base) (local.get $cb)))
                      (local.get $mu) (local.get $rs) (local.get $ga) (local.get $be)))
                  (call $bn_relu (v128.load (i32.add (local.get $base) (local.get $row)))
                    (local.get $mu) (local.get $rs) (local.get $ga) (local.get $be)))
                (call $bn_relu (v128.load (i32.add (local.get $base) (i32.add (local.get $row) (local.get $cb))))
                  (local.get $mu) (local.get $rs) (local.get $ga) (local.get $be))))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (br_if $lg (i32.lt_s (local.tee $g (i32.add (local.get $g) (i32.const 16))) (local.get $cb))))
          (br_if $lx (i32.lt_s (local.tee $xo (i32.add (local.get $xo) (i32.const 1))) (local.get $ow))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $lr))))

  ;; max(0, (v - mu) * rs * ga + be), exactly as bn_apply computes it.
  (func $bn_relu (param $v v128) (param $mu v128) (param $rs v128) (param $ga v128) (param $be v128) (result v128)
    (f32x4.max (v128.const i32x4 0 0 0 0)
      (f32x4.relaxed_madd (f32x4.mul (f32x4.sub (local.get $v) (local.get $mu)) (local.get $rs)) (local.get $ga) (local.get $be))))

  ;; Gradient of bn_relu_pool, in two passes over the 2x2 windows (rows of
  ;; windows r, ow windows each, c channels, c % 4 == 0), both recomputing
  ;; xhat = (x - mean) * rstd from the saved conv output x.
  ;; Pass 1 (bn_relu_pool_dz): dz = dpool at the window's first maximum of
  ;; y = relu(xhat * gamma + beta) where that y > 0, else 0 (max-pool then
  ;; ReLU gradients), written to dx; s1 += sum dz, s2 += sum dz * xhat.
  ;; Pass 2 (bn_pool_dx): dx = scale * (dz - mb - xhat * mg) in place
  ;; (k3 = [scale, mb, mg], c each) and s1 += sum dx.
  ;; Sums: float32 per row of windows (part: 8*c bytes), folded into float64.
  (func (export "bn_relu_pool_dz")
    (param $x i32) (param $dpool i32) (param $dx i32) (param $rows i32) (param $ow i32) (param $c i32)
    (param $mean i32) (param $rstd i32) (param $gamma i32) (param $beta i32)
    (param $s1 i32) (param $s2 i32) (param $part i32)
    (local $r i32) (local $xo i32) (local $g i32) (local $cb i32) (local $row i32) (local $off i32) (local $e i32)
    (local $d0 i32) (local $d1 i32) (local $d2 i32) (local $d3 i32)
    (local $mu v128) (local $rs v128) (local $h0 v128) (local $h1 v128) (local $h2 v128) (local $h3 v128)
    (local $ga v128) (local $be v128) (local $u v128) (local $m v128) (local $d v128)
    (local $b1 v128) (local $b2 v128) (local $b3 v128) (local $z0 v128) (local $z1 v128) (local $z2 v128) (local $z3 v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $row (i32.mul (i32.shl (local.get $ow) (i32.const 1)) (local.get $cb)))
    (block $done
      (loop $lr
        (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
        (memory.fill (local.get $part) (i32.const 0) (i32.shl (local.get $cb) (i32.const 1)))
        (local.set $xo (i32.const 0))
        (loop $lx
          (local.set $g (i32.const 0))
          (loop $lg
            (local.set $off (i32.add (i32.add
              (i32.mul (i32.shl (local.get $r) (i32.const 1)) (local.get $row))
              (i32.mul (i32.shl (local.get $xo) (i32.const 1)) (local.get $cb))) (local.get $g)))
            (local.set $mu (v128.load (i32.add (local.get $mean) (local.get $g))))
            (local.set $rs (v128.load (i32.add (local.get $rstd) (local.get $g))))
            (local.set $e (i32.add (local.get $x) (local.get $off)))
            (local.set $h0 (f32x4.mul (f32x4.sub (v128.load (local.get $e)) (local.get $mu)) (local.get $rs)))
            (local.set $h1 (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $e) (local.get $cb))) (local.get $mu)) (local.get $rs)))
            (local.set $h2 (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $e) (local.get $row))) (local.get $mu)) (local.get $rs)))
            (local.set $h3 (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $e) (i32.add (local.get $row) (local.get $cb))))
              (local.get $mu)) (local.get $rs)))
            (local.set $d0 (i32.add (local.get $dx) (local.get $off)))
            (local.set $d1 (i32.add (local.get $d0) (local.get $cb)))
            (local.set $d2 (i32.add (local.get $d0) (local.get $row)))
            (local.set $d3 (i32.add (local.get $d2) (local.get $cb)))
            (local.set $e (i32.add (local.get $part) (local.get $g)))
            (local.set $ga (v128.load (i32.add (local.get $gamma) (local.get $g))))
            (local.set $be (v128.load (i32.add (local.get $beta) (local.get $g))))
            ;; the first maximum of the pre-activations u is y's first maximum
            ;; whenever that maximum is positive (relu is monotone); else dz = 0
            (local.set $m (f32x4.relaxed_madd (local.get $h0) (local.get $ga) (local.get $be)))
            (local.set $u (f32x4.relaxed_madd (local.get $h1) (local.get $ga) (local.get $be)))
            (local.set $b1 (f32x4.gt (local.get $u) (local.get $m)))
            (local.set $m (v128.bitselect (local.get $u) (local.get $m) (local.get $b1)))
            (local.set $u (f32x4.relaxed_madd (local.get $h2) (local.get $ga) (local.get $be)))
            (local.set $b2 (f32x4.gt (local.get $u) (local.get $m)))
            (local.set $m (v128.bitselect (local.get $u) (local.get $m) (local.get $b2)))
            (local.set $u (f32x4.relaxed_madd (local.get $h3) (local.get $ga) (local.get $be)))
            (local.set $b3 (f32x4.gt (local.get $u) (local.get $m)))
            (local.set $m (v128.bitselect (local.get $u) (local.get $m) (local.get $b3)))
            (local.set $d (v128.and (v128.load (local.get $dpool)) (f32x4.gt (local.get $m) (v128.const i32x4 0 0 0 0))))
            (local.set $z3 (v128.and (local.get $d) (local.get $b3)))
            (local.set $d (v128.andnot (local.get $d) (local.get $b3)))
            (local.set $z2 (v128.and (local.get $d) (local.get $b2)))
            (local.set $d (v128.andnot (local.get $d) (local.get $b2)))
            (local.set $z1 (v128.and (local.get $d) (local.get $b1)))
            (local.set $z0 (v128.andnot (local.get $d) (local.get $b1)))
            (v128.store (local.get $d0) (local.get $z0))
            (v128.store (local.get $d1) (local.get $z1))
            (v128.store (local.get $d2) (local.get $z2))
            (v128.store (local.get $d3) (local.get $z3))
            (v128.store (local.get $e) (f32x4.add (v128.load (local.get $e))
              (f32x4.add (f32x4.add (local.get $z0) (local.get $z1)) (f32x4.add (local.get $z2) (local.get $z3)))))
            (v128.store (i32.add (local.get $e) (local.get $cb)) (f32x4.add (v128.load (i32.add (local.get $e) (local.get $cb)))
              (f32x4.add
                (f32x4.add (f32x4.mul (local.get $z0) (local.get $h0)) (f32x4.mul (local.get $z1) (local.get $h1)))
                (f32x4.add (f32x4.mul (local.get $z2) (local.get $h2)) (f32x4.mul (local.get $z3) (local.get $h3))))))
            (local.set $dpool (i32.add (local.get $dpool) (i32.const 16)))
            (br_if $lg (i32.lt_s (local.tee $g (i32.add (local.get $g) (i32.const 16))) (local.get $cb))))
          (br_if $lx (i32.lt_s (local.tee $xo (i32.add (local.get $xo) (i32.const 1))) (local.get $ow))))
        ;; fold this row's partial sums into float64
        (local.set $g (i32.const 0))
        (loop $lf
          (call $fold (i32.add (local.get $s1) (i32.shl (local.get $g) (i32.const 1)))
            (v128.load (i32.add (local.get $part) (local.get $g))))
          (call $fold (i32.add (local.get $s2) (i32.shl (local.get $g) (i32.const 1)))
            (v128.load (i32.add (local.get $part) (i32.add (local.get $cb) (local.get $g)))))
          (br_if $lf (i32.lt_s (local.tee $g (i32.add (local.get $g) (i32.const 16))) (local.get $cb))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $lr))))

  (func (export "bn_pool_dx")
    (param $x i32) (param $dx i32) (param $rows i32) (param $ow i32) (param $c i32)
    (param $mean i32) (param $rstd i32) (param $k3 i32) (param $s1 i32) (param $part i32)
    (local $r i32) (local $xo i32) (local $g i32) (local $cb i32) (local $row i32) (local $off i32) (local $e i32)
    (local $d0 i32) (local $d1 i32) (local $d2 i32) (local $d3 i32)
    (local $mu v128) (local $rs v128) (local $h0 v128) (local $h1 v128) (local $h2 v128) (local $h3 v128)
    (local $sc v128) (local $mb v128) (local $mg v128) (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $row (i32.mul (i32.shl (local.get $ow) (i32.const 1)) (local.get $cb)))
    (block $done
      (loop $lr
        (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
        (memory.fill (local.get $part) (i32.const 0) (local.get $cb))
        (local.set $xo (i32.const 0))
        (loop $lx
          (local.set $g (i32.const 0))
          (loop $lg
            (local.set $off (i32.add (i32.add
              (i32.mul (i32.shl (local.get $r) (i32.const 1)) (local.get $row))
              (i32.mul (i32.shl (local.get $xo) (i32.const 1)) (local.get $cb))) (local.get $g)))
            (local.set $mu (v128.load (i32.add (local.get $mean) (local.get $g))))
            (local.set $rs (v128.load (i32.add (local.get $rstd) (local.get $g))))
            (local.set $e (i32.add (local.get $x) (local.get $off)))
            (local.set $h0 (f32x4.mul (f32x4.sub (v128.load (local.get $e)) (local.get $mu)) (local.get $rs)))
            (local.set $h1 (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $e) (local.get $cb))) (local.get $mu)) (local.get $rs)))
            (local.set $h2 (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $e) (local.get $row))) (local.get $mu)) (local.get $rs)))
            (local.set $h3 (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $e) (i32.add (local.get $row) (local.get $cb))))
              (local.get $mu)) (local.get $rs)))
            (local.set $d0 (i32.add (local.get $dx) (local.get $off)))
            (local.set $d1 (i32.add (local.get $d0) (local.get $cb)))
            (local.set $d2 (i32.add (local.get $d0) (local.get $row)))
            (local.set $d3 (i32.add (local.get $d2) (local.get $cb)))
            (local.set $e (i32.add (local.get $part) (local.get $g)))
            (local.set $sc (v128.load (i32.add (local.get $k3) (local.get $g))))
            (local.set $mb (v128.load (i32.add (i32.add (local.get $k3) (local.get $cb)) (local.get $g))))
            (local.set $mg (v128.load (i32.add (i32.add (local.get $k3) (i32.shl (local.get $cb) (i32.const 1))) (local.get $g))))
            (local.set $v0 (f32x4.mul (local.get $sc) (f32x4.sub (f32x4.sub (v128.load (local.get $d0)) (local.get $mb))
              (f32x4.mul (local.get $h0) (local.get $mg)))))
            (local.set $v1 (f32x4.mul (local.get $sc) (f32x4.sub (f32x4.sub (v128.load (local.get $d1)) (local.get $mb))
              (f32x4.mul (local.get $h1) (local.get $mg)))))
            (local.set $v2 (f32x4.mul (local.get $sc) (f32x4.sub (f32x4.sub (v128.load (local.get $d2)) (local.get $mb))
              (f32x4.mul (local.get $h2) (local.get $mg)))))
            (local.set $v3 (f32x4.mul (local.get $sc) (f32x4.sub (f32x4.sub (v128.load (local.get $d3)) (local.get $mb))
              (f32x4.mul (local.get $h3) (local.get $mg)))))
            (v128.store (local.get $d0) (local.get $v0))
            (v128.store (local.get $d1) (local.get $v1))
            (v128.store (local.get $d2) (local.get $v2))
            (v128.store (local.get $d3) (local.get $v3))
            (v128.store (local.get $e) (f32x4.add (v128.load (local.get $e))
              (f32x4.add (f32x4.add (local.get $v0) (local.get $v1)) (f32x4.add (local.get $v2) (local.get $v3)))))
            (br_if $lg (i32.lt_s (local.tee $g (i32.add (local.get $g) (i32.const 16))) (local.get $cb))))
          (br_if $lx (i32.lt_s (local.tee $xo (i32.add (local.get $xo) (i32.const 1))) (local.get $ow))))
        ;; fold this row's partial sums into float64
        (local.set $g (i32.const 0))
        (loop $lf
          (call $fold (i32.add (local.get $s1) (i32.shl (local.get $g) (i32.const 1)))
            (v128.load (i32.add (local.get $part) (local.get $g))))
          (br_if $lf (i32.lt_s (local.tee $g (i32.add (local.get $g) (i32.const 16))) (local.get $cb))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $lr))))

  ;; One Adam step over n floats, in the order of operations of tfjs's
  ;; AdamOptimizer (separate multiplies and adds, so float32 results match):
  ;; m' = m b1 + g (1 - b1); v' = v b2 + g^2 (1 - b2);
  ;; p' = (m' / c1) / (sqrt(v' / c2) + eps) * (-lr) + p.
  ;; k: f32 [b1, 1 - b1, b2, 1 - b2, c1, c2, eps, -lr].
  (func (export "adam")
    (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32) (param $k i32)
    (param $op i32) (param $om i32) (param $ov i32)
    (local $i i32) (local $vec i32) (local $gv v128) (local $mv v128) (local $vv v128)
    (local $b1 v128) (local $nb1 v128) (local $b2 v128) (local $nb2 v128)
    (local $c1 v128) (local $c2 v128) (local $eps v128) (local $lr v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $b1 (v128.load32_splat offset=0 (local.get $k)))
    (local.set $nb1 (v128.load32_splat offset=4 (local.get $k)))
    (local.set $b2 (v128.load32_splat offset=8 (local.get $k)))
    (local.set $nb2 (v128.load32_splat offset=12 (local.get $k)))
    (local.set $c1 (v128.load32_splat offset=16 (local.get $k)))
    (local.set $c2 (v128.load32_splat offset=20 (local.get $k)))
    (local.set $eps (v128.load32_splat offset=24 (local.get $k)))
    (local.set $lr (v128.load32_splat offset=28 (local.get $k)))
    (local.set $vec (i32.shl (i32.shr_u (local.get $n) (i32.const 2)) (i32.const 4)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $vec)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
        (local.set $mv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $i))) (local.get $b1))
          (f32x4.mul (local.get $gv) (local.get $nb1))))
        (local.set $vv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $b2))
          (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $nb2))))
        (v128.store (i32.add (local.get $om) (local.get $i)) (local.get $mv))
        (v128.store (i32.add (local.get $ov) (local.get $i)) (local.get $vv))
        (v128.store (i32.add (local.get $op) (local.get $i))
          (f32x4.add
            (f32x4.mul
              (f32x4.div (f32x4.div (local.get $mv) (local.get $c1))
                (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (local.get $c2))) (local.get $eps)))
              (local.get $lr))
            (v128.load (i32.add (local.get $p) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l)))
    (local.set $n (i32.shl (local.get $n) (i32.const 2)))
    (block $tdone
      (loop $t
        (br_if $tdone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $i))))
        (local.set $ms (f32.add (f32.mul (f32.load (i32.add (local.get $m) (local.get $i))) (f32.load offset=0 (local.get $k)))
          (f32.mul (local.get $gs) (f32.load offset=4 (local.get $k)))))
        (local.set $vs (f32.add (f32.mul (f32.load (i32.add (local.get $v) (local.get $i))) (f32.load offset=8 (local.get $k)))
          (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (f32.load offset=12 (local.get $k)))))
        (f32.store (i32.add (local.get $om) (local.get $i)) (local.get $ms))
        (f32.store (i32.add (local.get $ov) (local.get $i)) (local.get $vs))
        (f32.store (i32.add (local.get $op) (local.get $i))
          (f32.add
            (f32.mul
              (f32.div (f32.div (local.get $ms) (f32.load offset=16 (local.get $k)))
                (f32.add (f32.sqrt (f32.div (local.get $vs) (f32.load offset=20 (local.get $k))))
                  (f32.load offset=24 (local.get $k))))
              (f32.load offset=28 (local.get $k)))
            (f32.load (i32.add (local.get $p) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $t))))
)
