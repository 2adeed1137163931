-- Pending score: priority * PRIO_SPAN + sequence, so equal priorities stay FIFO.
local PRIO_SPAN = 10000000000000
