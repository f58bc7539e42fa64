import { describe } from 'node:test';
import { LocalDirStorage } from '../../src/storage/index.js';
import { tempDir } from '../helpers/temp.js';
import { storageContract } from './storage-contract.js';

describe('LocalDirStorage', () => {
  storageContract(async (t) => new LocalDirStorage(tempDir(t)));
});
