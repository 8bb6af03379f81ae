"""The designer's tools that run the engine: scenario files and the simulator that plays them on a throwaway
database with a clock that moves only forward."""
