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

  ;; Validates memory[i..end) as UTF-8 (RFC 3629), 16 bytes per step, starting between code points.
  ;; Returns -1 if some byte there can no longer be part of valid UTF-8; otherwise the index of the first
  ;; byte not checked: the end of the last whole 16-byte block, or the start of a sequence that this end
  ;; cuts (up to 3 bytes before it). The caller checks the rest (under 19 bytes) itself. Faults are ORed
  ;; together and tested once, at the end (the caller fails the whole range anyway), and the tables and
  ;; masks are built once per call into locals rather than written as constants inside the loop, and high
  ;; nibbles are taken as 16-bit shifts masked with $low rather than with i8x16.shr_u (the same values;
  ;; both measured faster on Node, Bun and Deno).
  ;;
  ;; The check is the lookup algorithm of Keiser and Lemire ("Validating UTF-8 in less than one
  ;; instruction per byte", 2021): every fault shows in a pair of adjacent bytes, found with three
  ;; 16-entry tables indexed by the high nibble of the first byte, its low nibble and the high nibble of
  ;; the second, whose entries are ANDed; one bit per kind of fault:
  ;;   01 too short (a lead or ASCII byte after a lead)    02 too long (a continuation after ASCII)
  ;;   04 overlong 3-byte (E0 80..9F)                      08 too large (F4 90..BF, F5..FF)
  ;;   10 surrogate (ED A0..BF)                            20 overlong 2-byte (C0, C1)
  ;;   40 overlong 4-byte (F0 80..8F), or F5..FF 80..8F    80 two continuations in a row
  ;; Two continuations are a fault unless the second is the third or fourth byte of a sequence, known
  ;; from the bytes two and three back (E0..FF, F0..FF): XOR with that leaves a non-zero lane exactly at
  ;; a fault. An all-ASCII block is a fault only if the block before ended inside a sequence.
  (func (export "utf8") (param $i i32) (param $end i32) (result i32)
    (local $start i32) (local $prev v128) (local $cur v128) (local $prev1 v128) (local $error v128)
    (local $byHigh1 v128) (local $byLow1 v128) (local $byHigh2 v128) (local $low v128) (local $x80 v128)
    (local $x60 v128) (local $x70 v128) (local $cut v128)
    (local.set $byHigh1
      (v128.const i8x16 0x02 0x02 0x02 0x02 0x02 0x02 0x02 0x02 0x80 0x80 0x80 0x80 0x21 0x01 0x15 0x49))
    (local.set $byLow1
      (v128.const i8x16 0xe7 0xa3 0x83 0x83 0x8b 0xcb 0xcb 0xcb 0xcb 0xcb 0xcb 0xcb 0xcb 0xdb 0xcb 0xcb))
    (local.set $byHigh2
      (v128.const i8x16 0x01 0x01 0x01 0x01 0x01 0x01 0x01 0x01 0xe6 0xae 0xba 0xba 0x01 0x01 0x01 0x01))
    (local.set $low (i8x16.splat (i32.const 0x0f)))
    (local.set $x80 (i8x16.splat (i32.const 0x80)))
    (local.set $x60 (i8x16.splat (i32.const 0x60)))
    (local.set $x70 (i8x16.splat (i32.const 0x70)))
    ;; Non-zero where the block's last 3 bytes start a sequence longer than they are.
    (local.set $cut
      (v128.const i8x16 0xff 0xff 0xff 0xff 0xff 0xff 0xff 0xff 0xff 0xff 0xff 0xff 0xff 0xef 0xdf 0xbf))
    (local.set $start (local.get $i))
    (block $done
      (loop $block
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $end)))
        (local.set $cur (v128.load (local.get $i)))
        (if (i8x16.bitmask (local.get $cur))
          (then
            (local.set $prev1 (i8x16.shuffle 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30
              (local.get $prev) (local.get $cur)))
            (local.set $error
              (v128.or (local.get $error)
                (v128.xor
                  ;; 80 where the byte must be a third or fourth byte
                  (v128.and
                    (v128.or
                      (i8x16.sub_sat_u
                        (i8x16.shuffle 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29
                          (local.get $prev) (local.get $cur))
                        (local.get $x60))
                      (i8x16.sub_sat_u
                        (i8x16.shuffle 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28
                          (local.get $prev) (local.get $cur))
                        (local.get $x70)))
                    (local.get $x80))
                  (v128.and
                    (v128.and
                      ;; by the high nibble of the byte before
                      (i8x16.swizzle (local.get $byHigh1)
                        (v128.and (i16x8.shr_u (local.get $prev1) (i32.const 4)) (local.get $low)))
                      ;; by the low nibble of the byte before
                      (i8x16.swizzle (local.get $byLow1) (v128.and (local.get $prev1) (local.get $low))))
                    ;; by the high nibble of the byte itself
                    (i8x16.swizzle (local.get $byHigh2)
                      (v128.and (i16x8.shr_u (local.get $cur) (i32.const 4)) (local.get $low))))))))
          (else
            (local.set $error
              (v128.or (local.get $error) (i8x16.sub_sat_u (local.get $prev) (local.get $cut))))))
        (local.set $prev (local.get $cur))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $block)))
    (if (v128.any_true (local.get $error)) (then (return (i32.const -1))))
    ;; Step back to the lead byte of a sequence that the last block cut, if any.
    (if (i32.gt_u (local.get $i) (local.get $start))
      (then
        (if (i32.ge_u (i32.load8_u offset=0 (i32.sub (local.get $i) (i32.const 1))) (i32.const 0xc0))
          (then (return (i32.sub (local.get $i) (i32.const 1)))))
        (if (i32.ge_u (i32.load8_u offset=0 (i32.sub (local.get $i) (i32.const 2))) (i32.const 0xe0))
          (then (return (i32.sub (local.get $i) (i32.const 2)))))
        (if (i32.ge_u (i32.load8_u offset=0 (i32.sub (local.get $i) (i32.const 3))) (i32.const 0xf0))
          (then (return (i32.sub (local.get $i) (i32.const 3)))))))
    (local.get $i))
)
