-- Turns PostgreSQL's JIT compilation off until the end of the current transaction, for a statement whose
-- estimate is far above its usual work (compiling would cost more than running it).
SELECT set_config('jit', 'off', true)
