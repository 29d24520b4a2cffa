;; The core's WebAssembly kernels (SIMD, v128): unmasking (RFC 6455 §5.3) and UTF-8 validation
;; (RFC 3629). src/kernels.ts copies a window of bytes into this memory, calls a kernel on it and copies
;; the result back. Assembled by `npm run wasm` into src/kernels-wasm.ts; a test checks the two agree.
(module
  (memory (export "memory") 1)

  ;; XORs memory[p..end) with the 4-byte key `key` (the key bytes as a little-endian word, rotated so that
  ;; its first byte applies at p). Works 16 bytes at a time, so it may change up to 15 bytes past `end`:
  ;; the caller keeps that much slack after its window.
  (func (export "mask") (param $p i32) (param $end i32) (param $key i32)
    (local $k v128)
    (local.set $k (i32x4.splat (local.get $key)))
    (block $done64
      (loop $next64
        (br_if $done64 (i32.gt_u (i32.add (local.get $p) (i32.const 64)) (local.get $end)))
        (v128.store offset=0 (local.get $p) (v128.xor (v128.load offset=0 (local.get $p)) (local.get $k)))
        (v128.store offset=16 (local.get $p) (v128.xor (v128.load offset=16 (local.get $p)) (local.get $k)))
        (v128.store offset=32 (local.get $p) (v128.xor (v128.load offset=32 (local.get $p)) (local.get $k)))
        (v128.store offset=48 (local.get $p) (v128.xor (v128.load offset=48 (local.get $p)) (local.get $k)))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $next64)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (v128.store (local.get $p) (v128.xor (v128.load (local.get $p)) (local.get $k)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $next))))

  ;; Validates memory[i..end) as UTF-8, starting between code points. Returns -1 at the first sequence that
  ;; no continuation can make valid; otherwise the index of the first byte not consumed: `end`, or the
  ;; start of a sequence that `end` cuts (at most 3 bytes before it), which the caller finishes itself.
  ;; ASCII runs are skipped 16 bytes per step (the high bits as a bitmask; its trailing zeros say how much
  ;; of a mixed block is ASCII); other code points are decoded directly, with the RFC 3629 §4 limits on
  ;; the second byte of E0, ED, F0 and F4 sequences (overlongs, surrogates, above U+10FFFF).
  (func (export "utf8") (param $i i32) (param $end i32) (result i32)
    (local $b i32) (local $m i32) (local $lo i32) (local $hi i32)
    (loop $next
      (block $scalar
        (loop $ascii
          (br_if $scalar (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $end)))
          (local.set $m (i8x16.bitmask (v128.load (local.get $i))))
          (if (local.get $m)
            (then
              (local.set $i (i32.add (local.get $i) (i32.ctz (local.get $m))))
              (br $scalar)))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br $ascii)))
      (if (i32.ge_u (local.get $i) (local.get $end)) (then (return (local.get $end))))
      (local.set $b (i32.load8_u (local.get $i)))
      (if (i32.lt_u (local.get $b) (i32.const 0x80))
        (then
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      ;; C2..DF: one continuation byte, any 80..BF.
      (if (i32.lt_u (local.get $b) (i32.const 0xe0))
        (then
          (if (i32.lt_u (local.get $b) (i32.const 0xc2)) (then (return (i32.const -1))))
          (if (i32.ge_u (i32.add (local.get $i) (i32.const 1)) (local.get $end)) (then (return (local.get $i))))
          (if (i32.ge_u (i32.xor (i32.load8_u offset=1 (local.get $i)) (i32.const 0x80)) (i32.const 0x40))
            (then (return (i32.const -1))))
          (local.set $i (i32.add (local.get $i) (i32.const 2)))
          (br $next)))
      (local.set $lo (i32.const 0x80))
      (local.set $hi (i32.const 0xbf))
      ;; E0..EF: two continuation bytes; the first A0..BF after E0, 80..9F after ED.
      (if (i32.lt_u (local.get $b) (i32.const 0xf0))
        (then
          (if (i32.ge_u (i32.add (local.get $i) (i32.const 2)) (local.get $end)) (then (return (local.get $i))))
          (if (i32.eq (local.get $b) (i32.const 0xe0)) (then (local.set $lo (i32.const 0xa0))))
          (if (i32.eq (local.get $b) (i32.const 0xed)) (then (local.set $hi (i32.const 0x9f))))
          (if
            (i32.or
              (i32.gt_u
                (i32.sub (i32.load8_u offset=1 (local.get $i)) (local.get $lo))
                (i32.sub (local.get $hi) (local.get $lo)))
              (i32.ge_u (i32.xor (i32.load8_u offset=2 (local.get $i)) (i32.const 0x80)) (i32.const 0x40)))
            (then (return (i32.const -1))))
          (local.set $i (i32.add (local.get $i) (i32.const 3)))
          (br $next)))
      ;; F0..F4: three continuation bytes; the first 90..BF after F0, 80..8F after F4. F5..FF never.
      (if (i32.gt_u (local.get $b) (i32.const 0xf4)) (then (return (i32.const -1))))
      (if (i32.ge_u (i32.add (local.get $i) (i32.const 3)) (local.get $end)) (then (return (local.get $i))))
      (if (i32.eq (local.get $b) (i32.const 0xf0)) (then (local.set $lo (i32.const 0x90))))
      (if (i32.eq (local.get $b) (i32.const 0xf4)) (then (local.set $hi (i32.const 0x8f))))
      (if
        (i32.or
          (i32.gt_u
            (i32.sub (i32.load8_u offset=1 (local.get $i)) (local.get $lo))
            (i32.sub (local.get $hi) (local.get $lo)))
          (i32.ge_u
            (i32.or
              (i32.xor (i32.load8_u offset=2 (local.get $i)) (i32.const 0x80))
              (i32.xor (i32.load8_u offset=3 (local.get $i)) (i32.const 0x80)))
            (i32.const 0x40)))
        (then (return (i32.const -1))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next))
    (unreachable))
)
