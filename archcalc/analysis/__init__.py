"""Analysis passes over the IR: costs (here), memory, symbolic forms, sweeps."""
