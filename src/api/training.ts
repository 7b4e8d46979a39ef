// Public exports of this area (filled in by its module work).
export {};
